"""What every benchmark shares: a throwaway database and the output contract.

Each script prints, as its last line, one JSON object with at least ``job``, ``size`` and
``seconds`` (see DEVELOPERS.md). Benchmarks build their own database under a temporary
directory (or DATABASE_URL when given) so they never touch var/.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def setup_django(tag: str) -> Path:
    """Point Django at a fresh SQLite file (unless DATABASE_URL is set) and set it up."""
    workdir = Path(tempfile.mkdtemp(prefix=f"campagne-bench-{tag}-"))
    os.environ.setdefault("CAMPAGNE_VAR_DIR", str(workdir))
    os.environ.setdefault("SECRET_KEY", "bench-only-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campagne.settings")
    os.environ.setdefault("EMAIL_URL", "locmem://")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return workdir


def emit(result: dict[str, Any]) -> None:
    """Print the result line (last line of stdout)."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def wait_for_server(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    """Return once ``process`` (a web server started by the bench) accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")
