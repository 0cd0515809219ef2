"""`campagne rundemo` (what `make demo` runs): the demo campaign, served with its worker.

Migrates, loads the demo campaign (a second run reuses it), then starts the development
web server and a background-task worker side by side and prints the address and the demo
logins. Every e-mail they send (mailings, login links) goes to an SMTP sink running in
this process (``campagne.demo.sink``), whose messages the page /demo/boite/ shows.
Ctrl-C (SIGINT) or SIGTERM stops both and waits for them; if one of them dies, the other
is stopped too, so nothing is left running behind.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campagne.accounts.models import Role
from campagne.demo.actions import ACCOUNTS, PASSWORD, DemoError, load_demo
from campagne.demo.mailings import fill_demo_inbox
from campagne.demo.sink import DemoSink

# How long the server may take to accept connections, and the children to stop.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Command(BaseCommand):
    help = gettext_lazy(
        "Lance la démo : migre la base, charge la campagne de démonstration, puis sert le "
        "site avec un worker de tâches à côté, jusqu'à Ctrl-C."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help=gettext_lazy("Adresse d'écoute."))
        parser.add_argument("--port", type=int, default=8000, help=gettext_lazy("Port d'écoute."))
        parser.add_argument(
            "--no-load",
            action="store_false",
            dest="load",
            help=gettext_lazy("Sert la base telle quelle, sans migrer ni charger la démo."),
        )
        parser.add_argument(
            "--no-sink",
            action="store_false",
            dest="sink",
            help=gettext_lazy("Envoie les e-mails selon EMAIL_URL au lieu de la boîte de démo."),
        )
        parser.add_argument(
            "--reload",
            action="store_true",
            help=gettext_lazy("Redémarre le serveur quand le code change (développement)."),
        )

    def handle(
        self, *args: Any, host: str, port: int, load: bool, sink: bool, **options: Any
    ) -> None:
        if not settings.CAMPAGNE_DEMO:
            raise CommandError(_("rundemo sert la démo : lancez-le avec CAMPAGNE_DEMO=1."))
        if not port_is_free(host, port):
            raise CommandError(
                _("Le port %(port)d est déjà pris ; essayez par exemple PORT=8123 make demo.")
                % {"port": port}
            )
        self.children: list[subprocess.Popen[bytes]] = []
        self.stopping = False
        if load:
            try:
                self._prepare()
            except KeyboardInterrupt:
                # Each migration, and the demo load, is one transaction: nothing is left half done.
                raise CommandError(_("Interrompu avant le démarrage."), returncode=130) from None
        # The children open their own connections; ours would only sit idle.
        connections.close_all()

        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        self.sink = DemoSink() if sink else None
        if self.sink is not None:
            self.sink.__enter__()
            # The children inherit these: mail to the sink, links back to this server.
            os.environ["EMAIL_URL"] = self.sink.url
            os.environ["TRANSACTIONAL_EMAIL_URL"] = ""
            os.environ["CAMPAGNE_BASE_URL"] = f"http://{host}:{port}"
            # A few messages of the demo's latest mailing, as its recipients got them, so
            # that the inbox is not empty on first launch; their links lead here.
            settings.CAMPAGNE_BASE_URL = os.environ["CAMPAGNE_BASE_URL"]
            fill_demo_inbox()
            connections.close_all()
        try:
            # This command has run the system checks already; the children skip them.
            server = ["runserver", f"{host}:{port}", "--skip-checks"]
            if not options["reload"]:
                server.append("--noreload")
            self._start(server)
            self._start(["worker", "--skip-checks"])
            self._wait_until_served(host, port)
            self._banner(host, port)
            failed = self._watch()
        finally:
            self._stop_children()
            if self.sink is not None:
                self.sink.__exit__(None, None, None)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if failed:
            raise CommandError(_("Un des processus de la démo s'est arrêté ; tout est arrêté."))
        self.stdout.write(_("Démo arrêtée."))

    def _prepare(self) -> None:
        self.stdout.write(_("Mise à jour de la base de données…"))
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(_("Chargement de la démo…"))
        try:
            report = load_demo()
        except DemoError as exc:
            # A database with real people: serve it anyway, the message says why.
            self.stderr.write(str(exc))
            return
        values = {
            "people": number_format(report.people, force_grouping=True),
            "communes": report.communes,
            "seconds": number_format(report.seconds, decimal_pos=1),
        }
        if report.loaded:
            message = _(
                "Démo chargée : %(people)s personnes, %(communes)s communes, %(seconds)s s."
            )
        else:
            message = _("Démo déjà chargée : %(people)s personnes, %(communes)s communes.")
        self.stdout.write(message % values)

    def _start(self, command: list[str]) -> None:
        # Each child leads its own process group: the terminal's Ctrl-C reaches only us,
        # and we stop each group as a whole (runserver's reloader runs a grandchild).
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "campagne", *command],
            process_group=0,
        )
        self.children.append(child)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            # A second Ctrl-C: no more waiting.
            for child in self.children:
                self._signal_group(child, signal.SIGKILL)
        self.stopping = True

    def _wait_until_served(self, host: str, port: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not self.stopping and not accepts_connections(host, port):
            if any(child.poll() is not None for child in self.children):
                return  # _watch reports it
            if time.monotonic() > deadline:
                raise CommandError(_("Le serveur ne répond pas au bout de %d s.") % START_TIMEOUT)
            time.sleep(0.2)

    def _banner(self, host: str, port: int) -> None:
        if self.stopping or any(child.poll() is not None for child in self.children):
            return
        lines = [
            "",
            self.style.SUCCESS(
                _("La démo de Campagne tourne sur %(url)s") % {"url": f"http://{host}:{port}/"}
            ),
            _("Comptes (mot de passe : %s) :") % PASSWORD,
        ]
        width = max(len(account.email) for account in ACCOUNTS)
        for account in ACCOUNTS:
            scope = f" — {account.scope}" if account.scope else ""
            lines.append(f"  {account.email:<{width}}  {Role(account.role).label}{scope}")
        if self.sink is not None:
            lines.append(
                _("E-mails envoyés : dans la boîte de démo, %(url)s")
                % {"url": f"http://{host}:{port}/demo/boite/"}
            )
        lines += [_("Ctrl-C pour arrêter le serveur et le worker."), ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def _watch(self) -> bool:
        """Wait for a stop signal or a child's death; True when a child died on its own."""
        while not self.stopping:
            for child in self.children:
                if child.poll() is not None:
                    return True
            time.sleep(0.2)
        return False

    def _signal_group(self, child: subprocess.Popen[bytes], signum: int) -> None:
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:
            pass

    def _stop_children(self) -> None:
        self.stopping = True
        for child in self.children:
            self._signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in self.children:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal_group(child, signal.SIGKILL)
                child.wait()
            # Whatever the group leader left behind (a reloader's child) goes too.
            self._signal_group(child, signal.SIGKILL)
