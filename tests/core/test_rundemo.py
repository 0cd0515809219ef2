"""`campagne rundemo`, behind `make demo`: server and worker together, stopped together."""

import os
import signal
import socket
import urllib.request

import pytest
from django.core.management import CommandError, call_command

from campagne.demo.actions import ACCOUNTS
from tests.core.processes import free_port


def test_rundemo_serves_with_a_worker_and_ctrl_c_stops_both(start_campagne):
    port = free_port()
    demo = start_campagne("rundemo", f"--port={port}", "--no-load", DEBUG="1", CAMPAGNE_DEMO="1")
    demo.wait_for_output("Ctrl-C", timeout=60)

    assert f"http://127.0.0.1:{port}/" in demo.output
    for account in ACCOUNTS:
        assert account.email in demo.output
    assert "mot de passe : campagne" in demo.output
    url = f"http://127.0.0.1:{port}/comptes/connexion/"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - 127.0.0.1
        assert response.status == 200
    demo.wait_for_output("Starting worker")
    children = demo.children()
    assert len(children) == 2  # the web server and the worker

    assert demo.stop(signal.SIGINT) == 0

    assert "Démo arrêtée." in demo.output
    for pid in children:
        assert not os.path.exists(f"/proc/{pid}"), f"process {pid} outlived rundemo"


def test_rundemo_refuses_a_port_already_taken(settings):
    settings.CAMPAGNE_DEMO = True
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=f"Le port {port} est déjà pris"):
            call_command("rundemo", port=port, load=False)


def test_rundemo_runs_only_for_the_demo(settings):
    settings.CAMPAGNE_DEMO = False
    with pytest.raises(CommandError, match="CAMPAGNE_DEMO=1"):
        call_command("rundemo", port=free_port(), load=False)
