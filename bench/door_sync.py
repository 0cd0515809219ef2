"""Door records synced by many phones at once, through the real API and web server.

    .venv/bin/python bench/door_sync.py --volunteers 200 --seconds 10

Builds a fresh database (SQLite under a temporary directory, or DATABASE_URL when given:
PostgreSQL), a door campaign with one turf and one session per volunteer, and a
personal API token for each. Starts the app with gunicorn as deployed (``--workers``
processes, gthread with keep-alive), then ``wrk`` (``--connections`` concurrent clients,
each request with the token of a volunteer taken in turn) posts for ``--seconds``:

1. single doors to ``POST /api/v1/canvassing/record_canvass`` (OSDI-shaped);
2. batches of 20 doors to ``POST /api/v1/canvassing/canvasses/batch``;

one request in ten re-sends the previous request's doors on purpose (same uuids: they
must be stored once). The baseline is a minimal WSGI app in this file, served by the
same gunicorn settings, that inserts the same JSON into the same table with one raw
``INSERT … ON CONFLICT DO NOTHING`` (no auth, no scope, no checks), run on both shapes.

Reports ``records_per_second`` (single doors stored per second), ``batched_doors_per_second``,
``p99_seconds`` (wrk's, single doors), ``ratio`` (the baseline's single doors per second
over the app's: how many times longer the same records take through the app) and
``batch_ratio``; ``lost`` (doors answered as stored but missing in the table) and
``doubled`` (rows beyond one per uuid), counted in the database afterwards.
Targets: ≥ 1,000 records/s, ≥ 10,000 doors/s batched, p99 < 250 ms, ratio ≤ 2, 0 lost,
0 doubled.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

BATCH = 20
RESEND_EVERY = 10
STOPS_PER_TURF = 40

WRK_SCRIPT = r"""
local data = dofile(os.getenv("BENCH_DATA"))
local mode, batch = os.getenv("BENCH_MODE"), tonumber(os.getenv("BENCH_BATCH"))
local prefix, path = os.getenv("BENCH_PREFIX"), os.getenv("BENCH_PATH")
local nthreads, counter, threads = tonumber(os.getenv("BENCH_THREADS")), 0, {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  n, stored_ok, requests_ok, last, last_volunteer = 0, 0, 0, nil, nil
end

local function door(volunteer, k)
  local v = data[volunteer]
  local uuid = string.format("%s0000%02x-%04x-4000-8000-%012x", prefix, id, volunteer % 65536, k)
  -- Doors of one volunteer hours apart: no plausibility flag, as for honest phones.
  local at = os.date("!%Y-%m-%dT%H:%M:%SZ", data.base + (k * 90 + id * 7) % 86400)
  local address = v.stops[(k % #v.stops) + 1]
  return uuid, v.session, address, tostring(k), at
end

function request()
  n = n + 1
  local volunteer = ((n * nthreads + id) % #data) + 1
  local body
  if last and n % tonumber(os.getenv("BENCH_RESEND")) == 0 then
    -- The same doors again, by the same volunteer: answered "duplicate", stored once.
    body, volunteer = last, last_volunteer
  else
    local records = {}
    for i = 1, batch do
      local k = n * batch + i
      local uuid, session, address, doorname, at = door(volunteer, k)
      if mode == "single" then
        records[#records + 1] = string.format(
          '{"canvass":{"action_date":"%s","contact_type":"in-person","status_code":"not_home",' ..
          '"identifiers":["campagne:%s"]},"session_id":%d,"address_id":%d,"door":"%s"}',
          at, uuid, session, address, doorname)
      else
        records[#records + 1] = string.format(
          '{"client_uuid":"%s","session_id":%d,"address_id":%d,"door":"%s",' ..
          '"outcome":"not_home","recorded_at":"%s"}', uuid, session, address, doorname, at)
      end
    end
    body = records[1]
    if mode ~= "single" then body = '{"records":[' .. table.concat(records, ",") .. ']}' end
    last, last_volunteer = body, volunteer
  end
  wrk.headers["Authorization"] = "Bearer " .. data[volunteer].token
  wrk.headers["Content-Type"] = "application/json"
  return wrk.format("POST", path, nil, body)
end

-- What the server says it stored (not duplicates): checked against the table afterwards.
function response(status, headers, body)
  if status == 200 or status == 201 then
    requests_ok = requests_ok + 1
    local count = body:match('"stored": ?(%d+)')
    if count then
      stored_ok = stored_ok + tonumber(count)
    elseif body:find('"status": ?"stored"') then
      stored_ok = stored_ok + 1
    end
  end
end

function done(summary, latency, requests)
  local ok, okreq = 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("stored_ok")
    okreq = okreq + thread:get("requests_ok")
  end
  io.write(string.format("BENCH %d %d %d %.6f %.6f\n", ok, okreq, summary.requests,
    latency:percentile(99) / 1e6, summary.duration / 1e6))
end
"""


# --- the baseline: a raw insert, served the same way ----------------------------------------

_BASELINE: dict[str, object] = {}
# One connection per gunicorn thread, as Django keeps one per thread.
_LOCAL = threading.local()


def _baseline_connection() -> object:
    if getattr(_LOCAL, "db", None) is None:
        places = json.loads(Path(os.environ["BENCH_PLACES"]).read_text())
        _BASELINE["places"] = {int(k): v for k, v in places.items()}
        url = os.environ["BENCH_DB"]
        if url.startswith("postgres"):
            import psycopg

            _LOCAL.db = psycopg.connect(url, autocommit=False)
            _BASELINE["pg"] = True
        else:
            import sqlite3

            db = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            _LOCAL.db = db
            _BASELINE["pg"] = False
    return _LOCAL.db


_INSERT = (
    "INSERT INTO canvassing_canvass (client_uuid, channel, campaign_id, turf_id, session_id, "
    "address_id, door, commune_id, volunteer_id, outcome, opinion_consent, support, issues, "
    "answers, wants_to_volunteer, wants_contact, notes, latitude, longitude, accuracy_metres, "
    "recorded_at, received_at, superseded, review, flags) VALUES "
)


def baseline_app(environ: dict, start_response: object) -> list[bytes]:
    """POST JSON (one OSDI door or {"records": [...]}) → one multi-row raw INSERT."""
    if environ["REQUEST_METHOD"] != "POST":  # the warm-up's GET
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]
    db = _baseline_connection()
    pg = _BASELINE["pg"]
    places = _BASELINE["places"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    payload = json.loads(environ["wsgi.input"].read(length))
    if "canvass" in payload:
        ident = payload["canvass"]["identifiers"][0].split(":", 1)[1]
        items = [
            {
                "client_uuid": ident,
                "session_id": payload["session_id"],
                "address_id": payload["address_id"],
                "door": payload.get("door", ""),
                "outcome": payload["canvass"]["status_code"],
                "recorded_at": payload["canvass"]["action_date"],
            }
        ]
    else:
        items = payload["records"]
    now = dt.datetime.now(dt.UTC)
    mark = "%s" if pg else "?"
    rows, params = [], []
    for item in items:
        campaign, turf, commune, volunteer = places[item["session_id"]]
        at = dt.datetime.fromisoformat(item["recorded_at"].replace("Z", "+00:00"))
        uid = item["client_uuid"] if pg else item["client_uuid"].replace("-", "")
        stamp = (lambda d: d) if pg else (lambda d: d.strftime("%Y-%m-%d %H:%M:%S.%f"))
        params += [
            uid, "door", campaign, turf, item["session_id"], item["address_id"], item["door"],
            commune, volunteer, item["outcome"], False, None, "[]", "{}", False, False, "",
            None, None, None, stamp(at), stamp(now), False, "ok", "[]",
        ]  # fmt: skip
        rows.append("(" + ", ".join([mark] * 25) + ")")
    sql = _INSERT + ", ".join(rows) + " ON CONFLICT (client_uuid) DO NOTHING"
    if pg:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            count = cursor.rowcount
        db.commit()
    else:
        db.execute("BEGIN IMMEDIATE")
        count = db.execute(sql, params).rowcount
        db.execute("COMMIT")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"stored": count}).encode()]


# --- the run ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(volunteers: int) -> tuple[list[dict], dict[int, list]]:
    """A campaign, one turf of STOPS_PER_TURF addresses and one session per volunteer,
    each with a token. Returns the wrk data and the baseline's session → place map."""
    from django.db import connection
    from django.utils import timezone

    from campagne.accounts.models import ApiToken, Role, User
    from campagne.canvassing.models import FieldCampaign, Session, Turf, TurfStop
    from campagne.elections.models import Address, AddressSource, PollingStation
    from campagne.territory.models import Commune

    commune = Commune.objects.get(code="04070")
    station, _ = PollingStation.objects.get_or_create(
        id="04070_0001",
        defaults={
            "commune": commune,
            "departement_id": "04",
            "number": "1",
            "name": "Bureau 1",
            "latitude": 44.09,
            "longitude": 6.23,
        },
    )
    campaign = FieldCampaign.objects.create(name="Bench", departement_id="04")
    now = timezone.now()
    data, places = [], {}
    users = User.objects.bulk_create(
        [User(email=f"benevole{v}@bench.test", role=Role.VOLUNTEER) for v in range(volunteers)]
    )
    users = list(User.objects.filter(email__endswith="@bench.test").order_by("id"))
    addresses = Address.objects.bulk_create(
        [
            Address(
                source=AddressSource.BAN,
                source_id=f"bench_{i}",
                number=i % STOPS_PER_TURF + 1,
                street=f"Rue {i // STOPS_PER_TURF}",
                postal_code="04000",
                commune=commune,
                latitude=44.09 + 0.0001 * (i % STOPS_PER_TURF),
                longitude=6.23 + 0.001 * (i // STOPS_PER_TURF),
                station=station,
                match_key=f"bench{i}",
            )
            for i in range(volunteers * STOPS_PER_TURF)
        ],
        batch_size=2000,
    )
    address_ids = list(
        Address.objects.filter(source_id__startswith="bench_")
        .order_by("id")
        .values_list("id", flat=True)
    )
    del addresses
    for v, user in enumerate(users):
        turf = Turf.objects.create(
            campaign=campaign, number=v + 1, station=station, commune=commune
        )
        mine = address_ids[v * STOPS_PER_TURF : (v + 1) * STOPS_PER_TURF]
        TurfStop.objects.bulk_create(
            [
                TurfStop(turf=turf, campaign=campaign, address_id=a, position=i)
                for i, a in enumerate(mine)
            ]
        )
        session = Session.objects.create(
            campaign=campaign,
            turf=turf,
            volunteer=user,
            starts_at=now - dt.timedelta(hours=1),
            ends_at=now + dt.timedelta(days=2),
        )
        _token, raw = ApiToken.issue(user=user, name="bench")
        data.append({"token": raw, "session": session.pk, "stops": mine})
        places[session.pk] = [campaign.pk, turf.pk, commune.pk, user.pk]
    connection.close()
    return data, places


def lua_data(data: list[dict], base: int) -> str:
    rows = [
        f"{{token={json.dumps(d['token'])}, session={d['session']}, "
        f"stops={{{','.join(map(str, d['stops']))}}}}}"
        for d in data
    ]
    return "local t = {\n" + ",\n".join(rows) + f"\n}}\nt.base = {base}\nreturn t\n"


def warm_up(port: int, requests: int) -> None:
    """Every worker imports Django's views on its first request: not what is measured."""
    for _ in range(requests):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.request("GET", "/api/v1/me")
        connection.getresponse().read()
        connection.close()


def serve(app: str, port: int, args: argparse.Namespace, env: dict) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            app,
            f"--bind=127.0.0.1:{port}",
            f"--workers={args.workers}",
            "--worker-class=gthread",
            f"--threads={args.threads}",
            "--keep-alive=30",
            "--no-control-socket",
            "--log-level=warning",
            f"--pythonpath={Path(__file__).resolve().parent}",
        ],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )


def fire(port: int, path: str, mode: str, prefix: str, args: argparse.Namespace, env: dict) -> dict:
    batch = 1 if mode == "single" else BATCH
    run_env = {
        **env,
        "BENCH_MODE": mode,
        "BENCH_BATCH": str(batch),
        "BENCH_PREFIX": prefix,
        "BENCH_PATH": path,
        "BENCH_THREADS": str(args.wrk_threads),
        "BENCH_RESEND": str(RESEND_EVERY),
    }
    wrk = subprocess.run(  # noqa: S603
        [
            "wrk",
            f"--threads={args.wrk_threads}",
            f"--connections={args.connections}",
            f"--duration={args.seconds}s",
            "--timeout=10s",
            f"--script={env['BENCH_SCRIPT']}",
            f"http://127.0.0.1:{port}",
        ],
        env=run_env,
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"BENCH (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+)", wrk.stdout)
    if match is None:
        raise RuntimeError(wrk.stdout + wrk.stderr)
    doors, ok_requests, requests, p99, seconds = match.groups()
    from benchlib import log

    log(wrk.stdout.strip())
    return {
        "doors": int(doors),
        "ok_requests": int(ok_requests),
        "requests": int(requests),
        "p99": float(p99),
        "seconds": float(seconds),
        "prefix": prefix,
    }


def stored(prefix: str) -> tuple[int, int]:
    """(rows, distinct uuids) of one phase, whose uuids start with ``prefix``."""
    from django.db import connection
    from django.db.models import Count

    from campagne.canvassing.models import Canvass

    # SQLite stores uuids as 32 hex digits, PostgreSQL as uuid: compare on text.
    rows = list(
        Canvass.objects.extra(  # noqa: S610 - constant SQL, a bench
            where=["replace(CAST(client_uuid AS TEXT), '-', '') LIKE %s"], params=[prefix + "%"]
        )
        .aggregate(n=Count("id"), d=Count("client_uuid", distinct=True))
        .values()
    )
    connection.close()
    return rows[0], rows[1]


def main() -> None:  # noqa: PLR0915 - a script, in order
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--volunteers", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10, help="each phase")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=2, help="gunicorn threads per process")
    parser.add_argument("--connections", type=int, default=200, help="concurrent clients")
    parser.add_argument("--wrk-threads", type=int, default=2)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    from benchlib import emit, log, setup_django, wait_for_server

    workdir = setup_django("door-sync")
    from django.conf import settings

    database = settings.DATABASES["default"]
    is_pg = "postgresql" in database["ENGINE"]
    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{database['NAME']}"
    log(f"preparing {args.volunteers} volunteers…")
    data, places = prepare(args.volunteers)
    (workdir / "data.lua").write_text(lua_data(data, int(time.time()) - 86400 * 2))
    (workdir / "places.json").write_text(json.dumps(places))
    (workdir / "sync.lua").write_text(WRK_SCRIPT)
    env = {
        **os.environ,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "BENCH_DATA": str(workdir / "data.lua"),
        "BENCH_SCRIPT": str(workdir / "sync.lua"),
        "BENCH_PLACES": str(workdir / "places.json"),
        "BENCH_DB": db_url,
        # Served the same way: the baseline keeps one connection per thread, and so does
        # a deployment (DB_CONN_MAX_AGE); otherwise each request opens its database
        # connection again (on SQLite, file and PRAGMAs: ~4 ms of a 5 ms request).
        "DB_CONN_MAX_AGE": os.environ.get("DB_CONN_MAX_AGE", "600"),
        # The throttles run (their cache reads and writes are part of the cost) with
        # limits no honest phone reaches, so that they never refuse the bench.
        "API_RATE": "1000000/m",
        "API_WRITE_RATE": "1000000/m",
    }
    results = {}
    for name, app in (("app", "campagne.wsgi:application"), ("baseline", "door_sync:baseline_app")):
        port = free_port()
        server = serve(app, port, args, env)
        try:
            wait_for_server(port, server)
            warm_up(port, args.workers * args.threads * 2)
            single_path = "/api/v1/canvassing/record_canvass" if name == "app" else "/"
            batch_path = "/api/v1/canvassing/canvasses/batch" if name == "app" else "/"
            tag = "a" if name == "app" else "b"
            log(f"{name}: single doors…")
            results[name, "single"] = fire(port, single_path, "single", f"{tag}1", args, env)
            log(f"{name}: batches of {BATCH}…")
            results[name, "batch"] = fire(port, batch_path, "batch", f"{tag}2", args, env)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    lost = doubled = 0
    for key, result in results.items():
        rows, distinct = stored(result["prefix"])
        result["rows"] = rows
        doubled += rows - distinct
        lost += max(0, result["doors"] - distinct)
        log(f"{key}: {result}")
    single, batch = results["app", "single"], results["app", "batch"]
    base_single, base_batch = results["baseline", "single"], results["baseline", "batch"]

    def rate(result: dict) -> float:
        return result["rows"] / result["seconds"] if result["seconds"] else 0.0

    shutil.rmtree(workdir, ignore_errors=True)
    emit(
        {
            "job": "door_sync",
            "size": single["rows"] + batch["rows"],
            "seconds": round(single["seconds"] + batch["seconds"], 2),
            "records_per_second": round(rate(single)),
            "batched_doors_per_second": round(rate(batch)),
            "p99_seconds": round(single["p99"], 3),
            "batch_p99_seconds": round(batch["p99"], 3),
            "ratio": round(rate(base_single) / rate(single), 2) if rate(single) else None,
            "batch_ratio": round(rate(base_batch) / rate(batch), 2) if rate(batch) else None,
            "baseline_records_per_second": round(rate(base_single)),
            "baseline_batched_doors_per_second": round(rate(base_batch)),
            "lost": lost,
            "doubled": doubled,
            "failed_requests": sum(r["requests"] - r["ok_requests"] for r in results.values()),
            "server": f"gunicorn gthread {args.workers}×{args.threads}",
            "client": f"wrk {args.wrk_threads} threads, {args.connections} connections",
            "volunteers": args.volunteers,
            "database": "postgresql" if is_pg else "sqlite",
        }
    )


if __name__ == "__main__":
    main()
