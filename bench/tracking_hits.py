"""Click and open hits under load, through the real web server.

    .venv/bin/python bench/tracking_hits.py --hits 50000

Builds a fresh SQLite database with a sent mailing (7 tracked links and the open pixel)
and ``--hits / 8`` recipients, makes every recipient's 8 tracking URLs (each URL fired
once: ``--hits`` distinct hits), starts gunicorn (``--workers`` processes, gthread with
keep-alive, no access log) on the app as deployed, and fires the URLs with ``wrk``
(``apt-get install wrk``; ``--connections`` concurrent keep-alive connections, every URL
exactly once, split between wrk's threads). Then it stops gunicorn with SIGTERM (workers
flush their spools on exit), runs ``campagne tracking flush`` for anything left, and
counts the rows.

Reports ``hits_per_second`` = hits / ``seconds``, where ``seconds`` runs from the first
to the last hit received by the server (the spool's own timestamps: wrk waits out its
``-d`` duration even when its threads are done); ``wrk_requests`` and
``wrk_errors`` from wrk; ``missing`` (hits answered but not in the table) and
``duplicates`` (rows beyond one per URL). Target: ≥ 5,000 hits/s, 0 missing, 0
duplicates.
"""

import argparse
import http.client
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import emit, log, setup_django, wait_for_server  # noqa: E402

LINKS = [f"https://campagne.test/page-{n}" for n in range(1, 8)]
AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari"
WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local threads, counter = tonumber(os.getenv("BENCH_THREADS")), 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  -- This thread's share: every threads-th path, from its own offset.
  index = id + 1
  step = threads
  wrk.headers["User-Agent"] = os.getenv("BENCH_AGENT")
end
function request()
  -- wrk builds one request per thread before connecting and may not send it: that
  -- first one is a padding 404, so that no hit is lost to it.
  if not started then
    started = true
    return wrk.format("GET", "/m/c/done/")
  end
  if index > #paths then
    return wrk.format("GET", "/m/c/done/")  -- past our share: a 404 that records nothing
  end
  local path = paths[index]
  index = index + step
  return wrk.format("GET", path)
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(hits: int) -> list[str]:
    """A sent mailing and its recipients; returns ``hits`` distinct tracking paths."""
    from django.db import connection
    from django.utils import timezone

    from campagne.mailing.message import Skeleton
    from campagne.mailing.models import Mailing, Recipient, Sender
    from campagne.people.models import Person

    count = -(-hits // 8)
    now = timezone.now()
    Person.objects.bulk_create(
        [
            Person(
                first_name=f"Prénom{n}",
                last_name=f"Nom{n}",
                search_name=f"nom{n} prenom{n}",
                search_name_rev=f"prenom{n} nom{n}",
                email=f"personne{n}@exemple.test",
                created_at=now,
            )
            for n in range(count)
        ],
        batch_size=5000,
    )
    sender = Sender.objects.create(name="Équipe", address="equipe@campagne.test", validated=True)
    body = "\n\n".join(f"[Lien {n}]({url})" for n, url in enumerate(LINKS, 1))
    mailing = Mailing.objects.create(
        sender=sender, subject="Bench", body=body, status=Mailing.Status.SENDING
    )
    sent_at = now - timedelta(hours=1)  # long enough ago: no hit is "too fast"
    Recipient.objects.bulk_create(
        [
            Recipient(
                mailing=mailing,
                person_id=pk,
                email=email,
                status=Recipient.Status.SENT,
                sent_at=sent_at,
            )
            for pk, email in Person.objects.values_list("pk", "email")
        ],
        batch_size=5000,
    )
    tracker = Skeleton(mailing).tracker  # stores the links, as a send does
    connection.close()
    paths = []
    for pk in Recipient.objects.order_by("pk").values_list("pk", flat=True):
        for url in tracker.values(pk).values():
            paths.append(url.removeprefix(os.environ["CAMPAGNE_BASE_URL"]))
    return paths[:hits]


def warm_up(port: int, parallel: int) -> None:
    """Until every worker answers fast: Django imports its views on the first request,
    which takes seconds on a busy machine and is not what is measured."""

    def one(_n: int) -> float:
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.request("GET", "/m/c/warm/")  # a 404: resolves URLs, records nothing
        connection.getresponse().read()
        connection.close()
        return time.perf_counter() - started

    with ThreadPoolExecutor(parallel) as pool:
        for _round in range(30):
            if max(pool.map(one, range(parallel * 4))) < 0.2:
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hits", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=2, help="gunicorn threads per process")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=1)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    port = free_port()
    os.environ.update(CAMPAGNE_BASE_URL=f"http://127.0.0.1:{port}")
    workdir = setup_django("tracking-hits")
    log(f"preparing {args.hits} hits…")
    paths = prepare(args.hits)
    paths_file = workdir / "paths.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    script = workdir / "hits.lua"
    script.write_text(WRK_SCRIPT)
    env = {
        **os.environ,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "BENCH_PATHS": str(paths_file),
        "BENCH_THREADS": str(args.wrk_threads),
        "BENCH_AGENT": AGENT,
    }
    server = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "campagne.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={args.workers}",
            "--worker-class=gthread",
            f"--threads={args.threads}",
            "--keep-alive=30",
            "--no-control-socket",
            "--log-level=warning",
        ],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        wait_for_server(port, server)
        warm_up(port, args.workers * args.threads)
        duration = max(5, args.hits // 2000 + 5)
        log(f"firing with wrk ({args.connections} connections, up to {duration} s)…")
        wrk = subprocess.run(  # noqa: S603
            [
                "wrk",
                f"--threads={args.wrk_threads}",
                f"--connections={args.connections}",
                f"--duration={duration}s",
                "--timeout=10s",
                f"--script={script}",
                f"http://127.0.0.1:{port}",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        server.send_signal(signal.SIGTERM)  # graceful: workers flush their spools
        server.wait(timeout=60)
    log(wrk.stdout + wrk.stderr)
    requests = int(re.search(r"(\d+) requests in", wrk.stdout).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk.stdout)
    errors = re.search(r"Socket errors: (.*)", wrk.stdout)

    from django.core.management import call_command
    from django.db.models import Count, Max, Min

    from campagne.tracking.models import Hit
    from campagne.tracking.tokens import read_token

    call_command("tracking", "flush", stdout=io.StringIO())
    rows = Hit.objects.count()
    found = set(Hit.objects.values_list("recipient_id", "link_number"))
    distinct = len(found)
    expected = [read_token(path.split("/")[3].removesuffix(".gif")) for path in paths]
    lost = [n for n, t in enumerate(expected) if (t.recipient_id, t.link_number) not in found]
    span = Hit.objects.aggregate(first=Min("at"), last=Max("at"))
    seconds = (span["last"] - span["first"]).total_seconds() if rows else float("nan")
    machine = Hit.objects.filter(machine=True).count()
    by_kind = dict(Hit.objects.values_list("kind").annotate(n=Count("id")))
    shutil.rmtree(workdir, ignore_errors=True)
    emit(
        {
            "job": "tracking_hits",
            "size": args.hits,
            "seconds": round(seconds, 2),
            "hits_per_second": round(args.hits / seconds) if rows else 0,
            "missing": args.hits - distinct,
            "duplicates": rows - distinct,
            "rows": rows,
            "missing_positions": lost[:5],
            "by_kind": by_kind,
            "machine": machine,
            "wrk_requests": requests,
            # 404s of the padding requests wrk sends once its share is done.
            "wrk_non_2xx_3xx": int(non_2xx.group(1)) if non_2xx else 0,
            "wrk_errors": errors.group(1) if errors else "",
            "server": f"gunicorn gthread {args.workers}×{args.threads}",
            "client": f"wrk {args.wrk_threads} threads, {args.connections} connections",
            "database": "sqlite",
        }
    )


if __name__ == "__main__":
    main()
