"""Fixtures of the infrastructure tests."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.core.processes import CampagneProcess


@pytest.fixture
def start_campagne(database_url: str, tmp_path: Path) -> Iterator[Callable[..., CampagneProcess]]:
    """Start `campagne …` on the test database; whatever is left is killed at the end."""
    started: list[CampagneProcess] = []

    def start(*args: str, **env: str) -> CampagneProcess:
        process_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            # collectstatic and any file the command writes stay in the test's directory.
            "CAMPAGNE_VAR_DIR": str(tmp_path / "var"),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            **env,
        }
        process = CampagneProcess(list(args), process_env, tmp_path / f"{args[0]}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill_group()
