"""`campagne serve`: the production web server (gunicorn, static files by whitenoise).

Collects the static files under hashed names first (STATIC_MANIFEST=1: cacheable forever,
behind a CDN too), then replaces itself with gunicorn, so that the process manager's
signals reach gunicorn directly (SIGTERM: finish the requests in flight, then stop).
Settings come from the environment as always (see docs/operations.md).
"""

import os
import subprocess
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from campagne.lib.env import env_int, env_str


def default_workers() -> int:
    """WEB_CONCURRENCY when set, else gunicorn's rule of thumb: 2 × cores + 1."""
    return env_int("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1)


class Command(BaseCommand):
    help = (
        "Serve Campagne in production: collectstatic, then gunicorn with whitenoise. "
        "Extra gunicorn options can be given in GUNICORN_CMD_ARGS."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--host",
            default=env_str("HOST", "127.0.0.1"),
            help="Address to listen on; 0.0.0.0 in a container (default: HOST or 127.0.0.1).",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=env_int("PORT", 8000),
            help="Port to listen on (default: PORT or 8000).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=default_workers(),
            help="Worker processes (default: WEB_CONCURRENCY or 2 × cores + 1).",
        )
        parser.add_argument(
            "--no-collectstatic",
            action="store_false",
            dest="collectstatic",
            help="Skip collectstatic (when the files were collected at build time).",
        )

    def handle(self, *args: Any, host: str, port: int, workers: int, **options: Any) -> None:
        if workers < 1:
            raise CommandError(_("--workers doit valoir au moins 1."))
        # This process read its settings before we could set STATIC_MANIFEST, so the
        # static files are collected, and the site served, by fresh processes.
        env = {**os.environ, "STATIC_MANIFEST": "1"}
        if options["collectstatic"]:
            # --skip-checks: this command has just run them.
            collectstatic = ["collectstatic", "--noinput", "--verbosity=0", "--skip-checks"]
            subprocess.run(  # noqa: S603 - our own interpreter and arguments
                [sys.executable, "-m", "campagne", *collectstatic], env=env, check=True
            )
        gunicorn = [
            sys.executable,
            "-m",
            "gunicorn",
            "campagne.wsgi:application",
            f"--bind={host}:{port}",
            f"--workers={workers}",
            "--access-logfile=-",
            # gunicorn's control socket defaults to one path per user ($HOME/.gunicorn):
            # two instances on one machine would take it from each other.
            "--no-control-socket",
            # Workers restart now and then, so that a slow leak cannot grow for weeks.
            "--max-requests=2000",
            "--max-requests-jitter=200",
        ]
        if options["verbosity"] >= 1:
            self.stdout.write(
                _("Campagne sur http://%(address)s (gunicorn, %(workers)d processus)")
                % {"address": f"{host}:{port}", "workers": workers}
            )
        self.stdout.flush()
        os.execve(sys.executable, gunicorn, env)  # noqa: S606 - replaces this process
