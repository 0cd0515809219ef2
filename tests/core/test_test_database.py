"""The suite runs on the database it was asked for (see tests/postgres_server.py)."""

import pytest
from django.db import connection


def test_suite_runs_on_the_requested_database(db, request: pytest.FixtureRequest) -> None:
    if request.config.getoption("postgres"):
        assert connection.vendor == "postgresql"
        assert connection.settings_dict["NAME"] == "test_campagne"
        with connection.cursor() as cursor:
            cursor.execute("SHOW lc_ctype")
            assert cursor.fetchone() == ("C.UTF-8",)
    else:
        assert connection.vendor == "sqlite"
        # A file, so that processes started by tests can open it too.
        assert not connection.is_in_memory_db()
        assert connection.settings_dict["NAME"].endswith("test.sqlite3")
