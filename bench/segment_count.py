"""Counting a segment's members at scale, against the hand-written SQL COUNT.

    .venv/bin/python bench/segment_count.py --people 1000000

Fills a fresh database with ``--people`` people spread over France's communes by
population (``people_list.fill``), then tags and consents for them with a few
``INSERT … SELECT`` statements (the generator is not what is measured). Then saves a
segment with four criteria (status sympathisant or militant, tagged "porte-a-porte" or
"tractage", living in Provence-Alpes-Côte d'Azur's six départements, e-mail consent
granted) and reports:

- ``seconds``: the median time of ``segment.count(scope)`` for an HQ admin (query built
  from the saved definition, run, result returned);
- ``baseline_seconds``: the median time of the same WHERE written by hand in SQL and run
  through the same connection;
- ``ratio`` = seconds / baseline_seconds. Targets: under 0.2 s, ratio at most 1.5.

Set DATABASE_URL to run on PostgreSQL instead of a throwaway SQLite file.
"""

import argparse
import atexit
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import emit, log, setup_django  # noqa: E402

TAGS = [
    # (name, share of people): the two of the segment are common, the others rarer.
    ("porte-a-porte", 12),
    ("tractage", 9),
    ("jeunes", 7),
    ("retraites", 6),
    ("syndicalistes", 4),
    ("elus", 1),
]
# (channel, share of people with a consent row, share of those rows granted)
CONSENTS = [("email", 60, 85), ("sms", 25, 80), ("phone", 20, 70), ("door", 5, 90)]
DEPARTEMENTS = ["04", "05", "06", "13", "83", "84"]
DEFINITION = {
    "status": ["sympathisant", "militant"],
    "tags": {"any": ["porte-a-porte", "tractage"]},
    "territory": {"departements": DEPARTEMENTS},
    "consents": ["email"],
}
# The same WHERE as the segment's, written by hand: the figure to compare with.
BASELINE_SQL = """
SELECT COUNT(*) FROM people_person p
JOIN territory_commune c ON c.code = p.commune_id
WHERE p.status IN (%s, %s)
  AND EXISTS (SELECT 1 FROM people_person_tags pt WHERE pt.person_id = p.id
              AND pt.tag_id IN (SELECT t.id FROM people_tag t WHERE t.name IN (%s, %s)))
  AND c.departement_id IN ({departements})
  AND EXISTS (SELECT 1 FROM people_consent pc
              WHERE pc.person_id = p.id AND pc.channel = %s AND pc.granted)
""".format(departements=", ".join(["%s"] * len(DEPARTEMENTS)))
BASELINE_PARAMS = ["sympathisant", "militant", "porte-a-porte", "tractage", *DEPARTEMENTS, "email"]


def _spread(salt: int) -> str:
    """A deterministic pseudo-random number 0–99 from a person's id, in portable SQL."""
    # "%%": the statements are run with parameters, where a lone % starts a placeholder.
    return f"((p.id * {2654435761 + salt * 40503} + {salt * 7919}) %% 1000003) %% 100"


def fill_tags_and_consents() -> None:
    """Tags and consents for everyone, in a few set-based statements."""
    from django.db import connection, transaction
    from django.utils import timezone

    from campagne.people.models import Tag

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for salt, (name, share) in enumerate(TAGS, start=1):
            tag = Tag.objects.create(name=name)
            # One statement per tag, each with its own spread: tags overlap like in life,
            # and a person never gets the same tag twice.
            cursor.execute(
                "INSERT INTO people_person_tags (person_id, tag_id) "
                f"SELECT p.id, %s FROM people_person p WHERE {_spread(salt)} < %s",
                [tag.pk, share],
            )
        for salt, (channel, share, granted) in enumerate(CONSENTS, start=20):
            cursor.execute(
                "INSERT INTO people_consent (person_id, channel, granted, at, source, proof) "
                f"SELECT p.id, %s, ({_spread(salt + 50)} < %s), %s, 'bench', '' "
                f"FROM people_person p WHERE {_spread(salt)} < %s",
                [channel, granted, timezone.now(), share],
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(f"tags and consents in {time.perf_counter() - started:.1f}s")


def median_times(runs: dict, repeats: int) -> dict[str, tuple[float, object]]:
    """Median time and result of each of ``runs``, taken in turns.

    Interleaved rather than one after the other, so that a burst of load on the machine
    (shared with other jobs) slows every measure alike and the ratio stays fair.
    """
    timings: dict[str, list[float]] = {name: [] for name in runs}
    results: dict[str, object] = {name: run() for name, run in runs.items()}  # warm up
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            results[name] = run()
            timings[name].append(time.perf_counter() - started)
    return {name: (statistics.median(timings[name]), results[name]) for name in runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    workdir = setup_django("segment-count")
    # A million people make a 600 MB SQLite file there: never leave it behind.
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    from people_list import fill

    fill(args.people)
    fill_tags_and_consents()

    from django.db import connection

    from campagne.accounts.models import Role, User
    from campagne.accounts.scopes import scope_for
    from campagne.segments import actions
    from campagne.segments.definition import Definition

    admin = User.objects.create_user("bench-admin@example.test", role=Role.HQ_ADMIN)
    organizer = User.objects.create_user("bench-orga@example.test", role=Role.ORGANIZER)
    organizer.departements.set(["13"])
    segment = actions.create_segment(
        scope=scope_for(admin),
        name="PACA mobilisables",
        definition=Definition.model_validate(DEFINITION),
    )

    def count_as(user):
        # A scope per call, as each request builds its own.
        return lambda: segment.count(scope_for(user))

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute(BASELINE_SQL, BASELINE_PARAMS)
            return cursor.fetchone()[0]

    queryset = segment.members(scope_for(admin)).order_by()
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN {'QUERY PLAN ' if connection.vendor == 'sqlite' else ''}{sql}", params
        )
        log("plan of segment.members():\n  " + "\n  ".join(str(row) for row in cursor.fetchall()))

    measures = median_times(
        {
            "segment": count_as(admin),
            "baseline": baseline,
            "organizer": count_as(organizer),
            "preview": lambda: list(
                segment.members(scope_for(admin))
                .select_related("commune")
                .prefetch_related("tags")[:20]
            ),
        },
        args.repeats,
    )
    seconds, count = measures["segment"]
    baseline_seconds, baseline_count = measures["baseline"]
    assert count == baseline_count, (count, baseline_count)
    organizer_seconds, organizer_count = measures["organizer"]
    preview_seconds = measures["preview"][0]
    log(
        f"segment.count {seconds * 1000:.1f} ms, raw SQL {baseline_seconds * 1000:.1f} ms, "
        f"{count:,} members; organizer 13: {organizer_seconds * 1000:.1f} ms, "
        f"{organizer_count:,} members; preview of 20: {preview_seconds * 1000:.1f} ms"
    )
    emit(
        {
            "job": "segment_count",
            "size": args.people,
            "database": connection.vendor,
            "seconds": round(seconds, 4),
            "baseline_seconds": round(baseline_seconds, 4),
            "ratio": round(seconds / baseline_seconds, 2),
            "members": count,
            "organizer_seconds": round(organizer_seconds, 4),
            "organizer_members": organizer_count,
            "preview_seconds": round(preview_seconds, 4),
        }
    )


if __name__ == "__main__":
    main()
