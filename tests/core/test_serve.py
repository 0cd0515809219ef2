"""`campagne serve`: gunicorn and whitenoise, as in production."""

import json
import re
import signal
import urllib.request

from tests.core.processes import free_port


def get(url: str) -> tuple[int, dict[str, str], str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - http://127.0.0.1
        return response.status, dict(response.headers), response.read().decode()


def test_serve_answers_with_hashed_static_files_and_stops_on_sigterm(start_campagne, tmp_path):
    port = free_port()
    server = start_campagne(
        "serve",
        f"--port={port}",
        "--workers=1",
        DEBUG="0",
        SECRET_KEY="serve-test-secret",
        ALLOWED_HOSTS="127.0.0.1",
    )
    server.wait_for_output("Booting worker", timeout=60)
    base = f"http://127.0.0.1:{port}"

    # The health check reads the test database.
    status, _, body = get(f"{base}/sante/")
    assert (status, json.loads(body)) == (200, {"status": "ok"})

    status, _, page = get(f"{base}/comptes/connexion/")
    assert status == 200
    assert "Connexion" in page
    # collectstatic ran with the manifest: the page links a name carrying the content hash,
    # which whitenoise serves as cacheable forever.
    css = re.search(r'href="(/static/campagne/campagne\.[0-9a-f]{12}\.css)"', page)
    assert css, page
    assert (tmp_path / "var" / "static" / "staticfiles.json").exists()
    status, headers, body = get(base + css.group(1))
    assert status == 200
    assert headers["Cache-Control"] == "max-age=315360000, public, immutable"
    assert body

    assert server.stop(signal.SIGTERM) == 0
    assert "Shutting down: Master" in server.output
