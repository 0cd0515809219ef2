"""Sending a real mailing through the worker path, against a trivial smtplib sender.

    .venv/bin/python bench/send_mailing.py --recipients 20000

Fills a fresh database with ``--recipients`` people who gave their e-mail consent, writes
a mailing (≈6 KB of HTML, 5 merge fields, 7 tracked links, open pixel, List-Unsubscribe,
DKIM RSA-2048), starts ``--workers`` `campagne worker` processes (as deployed: already
running, polling the queue; each exits after its one send task here), then sends it
(``start_sending``: freeze the audience, enqueue MAILING_SEND_TASKS = ``--workers``
tasks); each worker sends with ``--connections`` SMTP connections (threads) into
Postfix's C ``smtp-sink`` on 127.0.0.1 (``apt-get install postfix``). Then, in the same
run, the ``baseline``: the first recipient's message, rendered once, pushed to every
address by ``smtplib.sendmail`` over 4 connections into a second smtp-sink.

Reports ``messages_per_second`` (from ``start_sending`` — freeze and queue polling
included — to the workers' exit; the workers' Python start-up is not included, a
deployed worker is already running), ``send_messages_per_second`` (from the first claim
to the last 250), ``baseline_messages_per_second``, ``ratio`` = baseline rate / our
rate, ``missing`` and ``duplicates`` counted at the sink from its dump (one
``X-Rcpt-Args`` line per message), and ``freeze_seconds``. Targets: ≥ 1,000 messages/s,
ratio ≤ 2, 0 missing, 0 duplicates.

Two workers with two connections each by default: one process per core (DKIM signing
and building hold the GIL), two threads each so that one computes while the other
waits for the server.
"""

import argparse
import mmap
import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import emit, log, setup_django  # noqa: E402

SMTP_SINK = "/usr/sbin/smtp-sink"
SHM = "/dev/shm"  # noqa: S108 - a private directory is made inside
PARAGRAPH = (
    'Depuis des mois, {{ prenom | "ami·e" }}, nous parcourons {{ commune | "la région" }} '
    "pour écouter celles et ceux qui font vivre nos quartiers et nos villages. "
    "Les services publics, les transports, le logement : voilà ce qui compte. "
)
LINKS = [
    ("Lire le programme", "https://campagne.test/programme"),
    ("Venir au meeting", "https://campagne.test/meeting"),
    ("Devenir bénévole", "https://campagne.test/benevole"),
    ("Faire un don", "https://campagne.test/don"),
    ("Trouver mon bureau de vote", "https://campagne.test/bureau"),
    ("Procuration", "https://campagne.test/procuration"),
    ("Nous suivre", "https://campagne.test/reseaux"),
]


def body() -> str:
    parts = ['# {{ civilite }} {{ prenom | "Bonjour" }} {{ nom }},', ""]
    for index, (label, url) in enumerate(LINKS):
        parts += [PARAGRAPH * 2, "", f"**[{label}]({url})**", ""]
        if index == 3:
            parts += ['Votre code postal : {{ code_postal | "—" }}.', ""]
    return "\n".join(parts)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sink(port: int, dump: Path) -> subprocess.Popen:
    dump.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(dump.parent, 0o777)  # noqa: S103 - smtp-sink drops to "nobody" to write it
    process = subprocess.Popen(
        [SMTP_SINK, "-u", "nobody", "-m", "64", "-D", str(dump), f"127.0.0.1:{port}", "256"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("smtp-sink did not start")


def count_at_sink(dump: Path, expected: set[str]) -> dict[str, int]:
    """Read through a memory map: at 700,000 recipients a dump is ~10 GB."""
    received: Counter[str] = Counter()
    if dump.stat().st_size:
        with open(dump, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            for match in re.finditer(rb"^X-Rcpt-Args: <([^>]+)>", data, re.M):
                received[match.group(1).decode().lower()] += 1
    return {
        "received": sum(received.values()),
        "missing": len(expected - received.keys()),
        "duplicates": sum(n - 1 for n in received.values() if n > 1),
        "unexpected": len(received.keys() - expected),
    }


def sink_parent(recipients: int) -> str:
    """Shared memory when the two dumps (~14 KB a message each) fit easily, else disk."""
    shm = shutil.disk_usage(SHM)
    return SHM if recipients * 2 * 14_000 < shm.free / 4 else tempfile.gettempdir()


def fill(count: int) -> list[str]:
    from django.utils import timezone

    from campagne.people.models import Consent, Person

    now = timezone.now()
    people = [
        Person(
            civility="mme" if n % 2 else "m",
            first_name=f"Prénom{n}",
            last_name=f"Nom{n}",
            search_name=f"nom{n} prenom{n}",
            search_name_rev=f"prenom{n} nom{n}",
            email=f"personne{n}@exemple-{n % 50}.test",
            postal_code=f"{4000 + n % 900:05d}",
            origin="Pétition « Services publics » 2026",
            created_at=now,
        )
        for n in range(count)
    ]
    Person.objects.bulk_create(people, batch_size=5000)
    ids = Person.objects.values_list("pk", flat=True)
    Consent.objects.bulk_create(
        [Consent(person_id=pk, channel="email", granted=True, source="bench") for pk in ids],
        batch_size=5000,
    )
    return [person.email for person in people]


# A deployed `campagne worker`: running before the mailing is sent, polling the queue
# (db_worker's default interval, 1 s); here it exits after its one send task.
WORKER = [sys.executable, "-m", "campagne", "worker", "--no-startup-delay", "--max-tasks", "1"]


def worker_env(workdir: Path) -> dict[str, str]:
    """The workers' environment, with a bytecode cache: a deployed worker has its .pyc
    files, where one started with PYTHONDONTWRITEBYTECODE (as on the shared machine)
    compiles every module of Django and Campagne from source first (≈3 s of CPU). And
    DEBUG off, as in production: with DEBUG on, Django formats and keeps every query."""
    env = dict(os.environ, DEBUG="0", LOG_LEVEL="INFO")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    return env


def warm_up(env: dict[str, str]) -> None:
    """Fill the bytecode cache (untimed): a worker with nothing to do, and the send path."""
    until_idle = [*WORKER[:4], "--until-idle"]
    subprocess.run(until_idle, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    code = "import django; django.setup(); import campagne.mailing.sending"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def start_workers(count: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen]:
    """Start the workers and wait until each polls the queue (its log says so)."""
    workers = []
    for n in range(count):
        with open(logs / f"worker-{n}.log", "w") as log_file:
            workers.append(
                subprocess.Popen(WORKER, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
            )
    deadline = time.monotonic() + 120
    for n, worker in enumerate(workers):
        while "Starting worker" not in (logs / f"worker-{n}.log").read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {n} did not start")
            time.sleep(0.05)
    return workers


def wait_for(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.wait(timeout=3600) != 0:
            raise RuntimeError("a worker failed")


def baseline(port: int, message: bytes, sender: str, addresses: list[str]) -> float:
    chunks = [addresses[index::4] for index in range(4)]

    def push(chunk: list[str]) -> None:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for address in chunk:
                smtp.sendmail(sender, [address], message)

    threads = [threading.Thread(target=push, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=2, help="per worker")
    args = parser.parse_args()
    if not Path(SMTP_SINK).exists():
        sys.exit(f"{SMTP_SINK} is missing: apt-get install postfix")

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    sink_dir = Path(
        tempfile.mkdtemp(prefix="campagne-bench-sink-", dir=sink_parent(args.recipients))
    )
    sink_dir.chmod(0o755)
    port, baseline_port = free_port(), free_port()
    os.environ.update(
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        CAMPAGNE_DKIM_PRIVATE_KEY=pem,
        CAMPAGNE_DKIM_SELECTOR="bench",
        MAILING_SMTP_CONNECTIONS=str(args.connections),
        MAILING_SEND_TASKS=str(args.workers),
        MAILING_BATCH_SIZE="100",
    )
    workdir = setup_django("send-mailing")
    sinks = [
        start_sink(port, sink_dir / "mailing" / "dump"),
        start_sink(baseline_port, sink_dir / "baseline" / "dump"),
    ]
    try:
        from django.db.models import Max, Min

        from campagne.mailing import actions
        from campagne.mailing.message import Skeleton, dkim_signer_from_settings
        from campagne.mailing.models import Mailing, Sender
        from campagne.segments.models import Segment

        log(f"filling {args.recipients} people…")
        addresses = fill(args.recipients)
        sender = Sender.objects.create(
            name="Équipe Campagne", address="equipe@campagne.test", validated=True
        )
        mailing = Mailing.objects.create(
            sender=sender,
            subject='{{ prenom | "Bonjour" }}, le programme est là',
            preheader="Tout ce que nous voulons faire, point par point",
            body=body(),
        )
        mailing.segments.set([Segment.objects.create(name="Tous", definition={})])
        env = worker_env(workdir)
        warm_up(env)
        workers = start_workers(args.workers, env, workdir)
        log(f"sending with {args.workers} workers × {args.connections} connections…")
        started = time.perf_counter()
        frozen = actions.start_sending(scope=actions.system_scope(), mailing=mailing)
        freeze_seconds = time.perf_counter() - started
        assert frozen["recipients"] == args.recipients, frozen
        wait_for(workers)
        seconds = time.perf_counter() - started
        mailing.refresh_from_db()
        counts = mailing.counts()
        span = mailing.recipients.aggregate(first=Min("claimed_at"), last=Max("sent_at"))
        send_seconds = (span["last"] - span["first"]).total_seconds()
        skeleton = Skeleton(mailing, dkim=dkim_signer_from_settings(sender.domain))
        first = mailing.recipients.order_by("id").first()
        _id, message = skeleton.build(
            recipient_id=first.pk, email=first.email, merge=first.merge, origin="bench"
        )
        html_size = len(skeleton.compiled.render(first.merge)[1].encode())

        log("baseline: smtplib over 4 connections…")
        baseline_seconds = baseline(baseline_port, message, sender.address, addresses)
        time.sleep(0.5)  # let the sinks flush their dumps
    finally:
        for sink in sinks:
            sink.terminate()
            sink.wait()
    expected = set(addresses)
    ours = count_at_sink(sink_dir / "mailing" / "dump", expected)
    theirs = count_at_sink(sink_dir / "baseline" / "dump", expected)
    shutil.rmtree(sink_dir, ignore_errors=True)
    shutil.rmtree(workdir, ignore_errors=True)
    rate = args.recipients / seconds
    baseline_rate = args.recipients / baseline_seconds
    emit(
        {
            "job": "send_mailing",
            "size": args.recipients,
            "seconds": round(seconds, 2),
            "messages_per_second": round(rate),
            # From the first claim to the last 250, without the workers' start-up.
            "send_seconds": round(send_seconds, 2),
            "send_messages_per_second": round(args.recipients / send_seconds),
            "baseline_seconds": round(baseline_seconds, 2),
            "baseline_messages_per_second": round(baseline_rate),
            "ratio": round(baseline_rate / rate, 2),
            "missing": ours["missing"],
            "duplicates": ours["duplicates"],
            "unexpected": ours["unexpected"],
            "baseline_missing": theirs["missing"],
            "baseline_duplicates": theirs["duplicates"],
            "status_counts": counts,
            "mailing_status": mailing.status,
            "freeze_seconds": round(freeze_seconds, 2),
            "html_bytes": html_size,
            "message_bytes": len(message),
            "workers": args.workers,
            "connections_per_worker": args.connections,
            "dkim": "rsa-2048",
            "sink": "postfix smtp-sink",
        }
    )


if __name__ == "__main__":
    main()
