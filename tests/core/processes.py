"""Campagne's own commands as real processes: start, watch their output, stop."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


class CampagneProcess:
    """`campagne <args>` in its own process group, its output in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.popen = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [sys.executable, "-m", "campagne", *args],
                cwd=settings.BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                process_group=0,
            )

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 60) -> None:
        def seen() -> bool:
            if self.popen.poll() is not None and text not in self.output:
                raise AssertionError(f"exited with {self.popen.returncode}:\n{self.output}")
            return text in self.output

        wait_for(seen, timeout, repr(text))

    def children(self) -> list[int]:
        """Process ids of its direct children (Linux)."""
        pid = self.popen.pid
        path = Path(f"/proc/{pid}/task/{pid}/children")
        return [int(child) for child in path.read_text().split()]

    def stop(self, signum: int, timeout: float = 15) -> int:
        self.popen.send_signal(signum)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"still running {timeout} s after signal {signum}:\n{self.output}"
            ) from None

    def kill_group(self) -> None:
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait()
