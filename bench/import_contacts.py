"""Import of a large, messy contact file, against a plain bulk insert of the same rows.

    .venv/bin/python bench/import_contacts.py --rows 700000

Generates a file the way campaigns receive them: cp1252, ``;``-separated, French headers,
phones in every usual shape, names in capitals or not, postcodes that lost their leading
zero, dates of birth in several formats, 5 % invalid rows (bad e-mail, bad phone, unknown
postcode, nothing to reach the person by) and 10 % rows repeating an earlier person with
the e-mail in capitals and the phone written another way. Then runs
``campagne import contacts`` on it in a child process, on a fresh database (SQLite under a
temporary directory, or DATABASE_URL), exactly as a user would.

Reports ``seconds`` (the command, start to exit), ``peak_rss_mb`` (the child's maximum
resident memory) and ``baseline_seconds``: a plain ``sqlite3.executemany`` of the imported,
already-normalised people into a table with the people table's columns and indexes (or,
on PostgreSQL, a ``COPY`` into a copy of the table), and ``ratio`` between the two.
"""

import argparse
import csv
import io
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import emit, log, setup_django  # noqa: E402

DOMAINS = [
    "gmail.com",
    "orange.fr",
    "hotmail.fr",
    "wanadoo.fr",
    "free.fr",
    "yahoo.fr",
    "laposte.net",
    "sfr.fr",
    "outlook.fr",
    "icloud.com",
    "gmial.com",  # a typo: flagged, imported
]
HEADERS = [
    "Civilité",
    "Prénom",
    "NOM",
    "Courriel",
    "Tél. portable",
    "Adresse",
    "CP",
    "Ville",
    "Date de naissance",
    "Étiquettes",
    "Accepte les e-mails",
]
STREETS = ["rue de la République", "avenue Jean Jaurès", "place de la Mairie", "chemin des Vignes"]
TAGS = ["", "", "", "tractage", "porte-à-porte, réunion", "sympathisant"]


def phone_shapes(rng: random.Random, national: str) -> str:
    """``national`` (nine digits) written one of the ways people write phones."""
    d = "0" + national
    pairs = " ".join(d[i : i + 2] for i in range(0, 10, 2))
    return rng.choice(
        [
            pairs,
            d,
            "+33 " + national[0] + " " + " ".join(national[i : i + 2] for i in range(1, 9, 2)),
            "0033" + national,
            national[0] + " " + " ".join(national[i : i + 2] for i in range(1, 9, 2)),
            pairs.replace(" ", "."),
            pairs.replace(" ", "-"),
        ]
    )


def birth_shapes(rng: random.Random, year: int) -> str:
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    return rng.choice(
        [
            f"{day:02d}/{month:02d}/{year}",
            f"{day:02d}-{month:02d}-{year % 100:02d}",
            str(year),
            f"{year}-{month:02d}-{day:02d}",
            "",
        ]
    )


def places() -> tuple[list[tuple[str, str]], list[float]]:
    """(postcode, town as written) for every postcode of France, weighted by population."""
    from campagne.territory.models import PostalCode

    rows = list(
        PostalCode.objects.values_list("code", "commune__name", "commune__population", "commune_id")
    )
    served: dict[str, int] = {}
    for _code, _name, _population, commune in rows:
        served[commune] = served.get(commune, 0) + 1
    return (
        [(code, name) for code, name, _p, _c in rows],
        [(population or 1) / served[commune] for _c, _n, population, commune in rows],
    )


def generate(path: Path, rows: int, seed: int = 2011) -> None:
    from faker.providers.person.fr_FR import Provider

    from campagne.lib.text import search_key

    rng = random.Random(seed)
    first_names = list(Provider.first_names_male) + list(Provider.first_names_female)
    last_names = list(Provider.last_names)
    where, weights = places()
    sampled = rng.choices(where, weights=weights, k=rows)
    earlier: list[list[str]] = []
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    with path.open("w", encoding="cp1252", errors="replace", newline="") as out:
        for n in range(rows):
            roll = rng.random()
            if roll < 0.10 and earlier:
                # The same person again, written differently.
                row = list(rng.choice(earlier))
                row[3] = row[3].upper()
                digits = "".join(c for c in row[4] if c.isdigit())[-9:]
                row[4] = phone_shapes(rng, digits) if len(digits) == 9 else row[4]
                row[1], row[2] = row[1].upper(), row[2].upper()
                writer.writerow(row)
            else:
                first, last = rng.choice(first_names), rng.choice(last_names)
                postcode, town = sampled[n]
                if postcode.startswith("0") and rng.random() < 0.3:
                    postcode = postcode[1:]  # Read as a number by a spreadsheet.
                town = town.upper() if rng.random() < 0.4 else town
                national = rng.choice("67") + f"{rng.randrange(10**8):08d}"
                if national[0] == "7":
                    national = "7" + rng.choice("3456789") + national[2:]
                elif national[1] == "9" or national[1:3] == "39":
                    national = "61" + national[2:]
                local = search_key(f"{first}.{last}{n}").replace(" ", "")
                row = [
                    rng.choice(["M.", "Mme", "Madame", "Monsieur", ""]),
                    first.upper() if rng.random() < 0.2 else first,
                    last.upper() if rng.random() < 0.5 else last,
                    f"{local}@{rng.choice(DOMAINS)}",
                    phone_shapes(rng, national) if rng.random() < 0.9 else "",
                    f"{rng.randint(1, 120)} {rng.choice(STREETS)}",
                    postcode,
                    town,
                    birth_shapes(rng, rng.randint(1935, 2005)),
                    rng.choice(TAGS),
                    rng.choice(["oui", "non", "", "1"]),
                ]
                if roll < 0.15:
                    # 5 % invalid: each kind of problem a quarter of them.
                    kind = rng.randrange(4)
                    if kind == 0:
                        row[3] = row[3].replace("@", "@@")
                    elif kind == 1:
                        row[4] = "06 12 34"
                    elif kind == 2:
                        row[6] = "99999"
                    else:
                        row[3] = row[4] = ""
                        row[5] = ""
                else:
                    earlier.append(row)
                    if len(earlier) > 50_000:
                        earlier[rng.randrange(50_000)] = earlier.pop()
                writer.writerow(row)
            if n % 10_000 == 0:
                out.write(buffer.getvalue())
                buffer.seek(0)
                buffer.truncate()
        out.write(buffer.getvalue())


def run_import(path: Path, workdir: Path) -> tuple[float, float, str, str]:
    env = {**os.environ, "CAMPAGNE_VAR_DIR": str(workdir), "LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-m", "campagne", "import", "contacts", str(path), "--origin", "Bench"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        log(child.stderr)
        raise SystemExit(f"import failed with status {child.returncode}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    log(f"child CPU time: {usage.ru_utime + usage.ru_stime:.1f} s")
    return seconds, usage.ru_maxrss / 1024, child.stdout.strip().splitlines()[-1], child.stderr


def sqlite_baseline() -> float:
    """executemany of the imported people into an empty copy of their table.

    The copy lives in the same database file, with the same columns, indexes and foreign
    keys, and the connection runs Campagne's own pragmas with the importer's page cache:
    only the work differs.
    """
    from django.conf import settings

    from campagne.imports.pipeline import SQLITE_IMPORT_CACHE_KB

    db = sqlite3.connect(settings.DATABASES["default"]["NAME"])
    db.executescript(settings.DATABASES["default"]["OPTIONS"]["init_command"])
    # The page cache the importer itself uses: the same conditions for both.
    db.execute(f"PRAGMA cache_size = -{SQLITE_IMPORT_CACHE_KB}")
    schema = [
        sql
        for (sql,) in db.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'people_person' AND sql IS NOT NULL"
        )
    ]
    columns = [row[1] for row in db.execute("PRAGMA table_info(people_person)")]
    rows = db.execute(f"SELECT {', '.join(columns)} FROM people_person ORDER BY id").fetchall()  # noqa: S608
    for statement in schema:
        statement = statement.replace('"people_person"', '"bench_person_copy"')
        db.execute(statement.replace('CREATE INDEX "', 'CREATE INDEX "bench_'))
    db.commit()
    insert = (
        f"INSERT INTO bench_person_copy ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join('?' * len(columns))})"
    )
    started = time.perf_counter()
    db.executemany(insert, rows)
    db.commit()
    seconds = time.perf_counter() - started
    db.execute("DROP TABLE bench_person_copy")
    db.close()
    return seconds


def postgres_baseline() -> float:
    """COPY of the imported people into a copy of the table (same columns and indexes)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_person_copy")
        cursor.execute("CREATE TABLE bench_person_copy (LIKE people_person INCLUDING ALL)")
        buffer = io.BytesIO()
        with cursor.copy("COPY people_person TO STDOUT") as copy:
            for block in copy:
                buffer.write(block)
        started = time.perf_counter()
        with cursor.copy("COPY bench_person_copy FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_person_copy")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=700_000)
    args = parser.parse_args()

    workdir = setup_django("import")
    from django.db import connection

    path = Path(tempfile.mkdtemp(prefix="campagne-import-file-")) / "contacts.csv"
    started = time.perf_counter()
    generate(path, args.rows)
    size_mb = path.stat().st_size / 1e6
    log(f"generated {args.rows} rows ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f} s")
    connection.close()

    seconds, peak_mb, summary, progress = run_import(path, workdir)
    log(progress.strip().splitlines()[-1] if progress.strip() else "")
    log(f"import: {seconds:.1f} s, peak RSS {peak_mb:.0f} MB: {summary}")
    if connection.vendor == "postgresql":
        baseline, baseline_kind = postgres_baseline(), "COPY"
    else:
        baseline, baseline_kind = sqlite_baseline(), "sqlite3.executemany"
    log(f"baseline ({baseline_kind}): {baseline:.2f} s")
    import json

    emit(
        {
            "job": "import_contacts",
            "size": args.rows,
            "seconds": round(seconds, 2),
            "peak_rss_mb": round(peak_mb),
            "baseline_seconds": round(baseline, 2),
            "baseline": baseline_kind,
            "ratio": round(seconds / baseline, 2),
            "rows_per_second": round(args.rows / seconds),
            "database": connection.vendor,
            "counts": json.loads(summary),
        }
    )
    path.unlink()


if __name__ == "__main__":
    main()
