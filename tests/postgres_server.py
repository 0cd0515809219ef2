"""The test database: SQLite by default, a throwaway PostgreSQL server with `--postgres`.

`pytest --postgres` starts a private PostgreSQL server from the machine's binaries
(`initdb`/`pg_ctl` on PATH or under /usr/lib/postgresql/*/bin) in a temporary directory,
listening only on a Unix socket there, and points Django's default database at it before
pytest-django creates the test database; the server and its files are gone at the end.
`initdb` refuses to run as root, so under root (CI) the server runs as the `postgres`
user. Without binaries the run prints one line and succeeds, so `make test` passes on a
machine without PostgreSQL.

On SQLite the test database is a file in a temporary directory rather than in memory, so
that a test may hand it to a process it starts (`campagne worker`, `campagne serve`):
the `database_url` fixture gives that process's DATABASE_URL.

Loaded by tests/conftest.py (`pytest_plugins`).
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

SKIPPED_LINE = "PostgreSQL tests skipped: no initdb/pg_ctl found"
_server_key = pytest.StashKey["PostgresServer | None"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres",
        action="store_true",
        default=False,
        help="Run the tests on a throwaway PostgreSQL server instead of SQLite.",
    )


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """Without PostgreSQL binaries, say so in one line and succeed, before Django starts.

    Exit status 0, so that a machine without PostgreSQL still passes `make test`.
    """
    if not config.getoption("postgres"):
        return None
    binaries = find_binaries()
    if binaries is None:
        print(SKIPPED_LINE)  # noqa: T201
        return 0
    config.stash[_server_key] = PostgresServer(*binaries)
    return None


def pytest_report_header(config: pytest.Config) -> str:
    server = config.stash.get(_server_key, None)
    if server is None:
        return "database: SQLite (temporary file)"
    return f"database: PostgreSQL, throwaway server from {server.initdb.parent}"


def find_binaries() -> tuple[Path, Path] | None:
    """`initdb` and `pg_ctl` of one PostgreSQL installation, PATH first, newest first."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(initdb), Path(pg_ctl)

    def version(bin_dir: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", bin_dir.parent.name))

    for bin_dir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True):
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            return bin_dir / "initdb", bin_dir / "pg_ctl"
    return None


def _unprivileged_owner() -> pwd.struct_passwd | None:
    """Under root, the account the server runs as: `postgres`, else `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("Running as root, but neither a `postgres` nor a `nobody` user exists.")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One private server: data, socket and log in a temporary directory."""

    def __init__(self, initdb: Path, pg_ctl: Path) -> None:
        self.initdb = initdb
        self.pg_ctl = pg_ctl
        self.base_dir: Path | None = None
        # The port only names the socket file: the server listens on no TCP address, so
        # parallel runs on one machine never collide.
        self.port = _free_port()
        self.running = False

    @property
    def data_dir(self) -> Path:
        assert self.base_dir is not None
        return self.base_dir / "data"

    def _run_as_owner(self, args: list[str]) -> None:
        """Run a PostgreSQL tool as the unprivileged owner when we are root."""
        kwargs: dict[str, Any] = {}
        owner = _unprivileged_owner()
        if owner is not None:
            kwargs = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
        result = subprocess.run(  # noqa: S603 - our own arguments, no shell
            args,
            cwd=self.base_dir,
            capture_output=True,
            text=True,
            check=False,
            **kwargs,
        )
        if result.returncode != 0:
            log = self.base_dir / "server.log" if self.base_dir else None
            log_text = log.read_text() if log and log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}{log_text}"
            )

    def start(self) -> None:
        self.base_dir = Path(tempfile.mkdtemp(prefix="campagne-pg-"))
        atexit.register(self.stop)
        owner = _unprivileged_owner()
        if owner is not None:
            os.chown(self.base_dir, owner.pw_uid, owner.pw_gid)
        # C.UTF-8: code-point collation like C, but upper()/lower() know accented letters,
        # which Django's case-insensitive lookups rely on.
        self._run_as_owner(
            [
                str(self.initdb),
                "--pgdata",
                str(self.data_dir),
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        options = " ".join(
            [
                "-c listen_addresses=''",
                f"-c unix_socket_directories='{self.base_dir}'",
                f"-c port={self.port}",
                # Throwaway data: durability only costs time.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        self._run_as_owner(
            [
                str(self.pg_ctl),
                "start",
                "--pgdata",
                str(self.data_dir),
                "--log",
                str(self.base_dir / "server.log"),
                "--wait",
                "--timeout=60",
                "-o",
                options,
            ]
        )
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.running = False
            try:
                self._run_as_owner(
                    [str(self.pg_ctl), "stop", "--pgdata", str(self.data_dir), "-m", "fast"]
                )
            except RuntimeError:
                self._run_as_owner(
                    [str(self.pg_ctl), "stop", "--pgdata", str(self.data_dir), "-m", "immediate"]
                )
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None

    def url(self, name: str = "postgres") -> str:
        assert self.base_dir is not None
        return f"postgres://postgres@{quote(str(self.base_dir), safe='')}:{self.port}/{name}"


def _use_default_database(settings_dict: dict[str, Any]) -> None:
    """Point Django's default database at `settings_dict`, however far Django got.

    The connection handler caches both the settings and the connection objects, so both
    are dropped; the next `connections["default"]` is built from the new settings.
    """
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    settings.DATABASES["default"] = settings_dict
    for alias in list(connections.settings):
        try:
            del connections[alias]
        except AttributeError:  # never opened in this thread
            pass
    connections.__dict__.pop("settings", None)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    request: pytest.FixtureRequest,
    django_db_modify_db_settings_parallel_suffix: None,
) -> Iterator[None]:
    """pytest-django's hook, run just before it creates the test database."""
    import dj_database_url
    from django.conf import settings

    server: PostgresServer | None = request.config.stash.get(_server_key, None)
    default = dict(settings.DATABASES["default"])
    if server is not None:
        server.start()
        default = dj_database_url.parse(server.url())
        default["TEST"] = {"NAME": "test_campagne"}
        _use_default_database(default)
        yield
        server.stop()
        return

    if default["ENGINE"] == "django.db.backends.sqlite3" and not default.get("TEST", {}).get(
        "NAME"
    ):
        # A file, not memory, so that processes started by a test share the database.
        tmp_dir = Path(tempfile.mkdtemp(prefix="campagne-test-db-"))
        default["TEST"] = {**default.get("TEST", {}), "NAME": str(tmp_dir / "test.sqlite3")}
        _use_default_database(default)
        yield
        shutil.rmtree(tmp_dir, ignore_errors=True)
        return
    yield


@pytest.fixture
def database_url(transactional_db: None) -> str:
    """DATABASE_URL of the test database, for a process the test starts.

    It needs `transactional_db` (implied here): the process sees only committed rows.
    """
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host = quote(db["HOST"], safe="")
    return f"postgres://{db['USER']}@{host}:{db['PORT']}/{db['NAME']}"
