"""Server time of the people list at scale: a filtered, searched page.

    .venv/bin/python bench/people_list.py --people 1000000

Fills a fresh database with ``--people`` people spread over France's communes by
population (raw bulk inserts: the generator is not what is measured), then requests the
list page through Django's full stack (middleware, scoping, template) as an HQ admin and as
an organizer of one département, with a search and a status filter, and reports the median
server time as ``seconds``.
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import emit, log, setup_django  # noqa: E402

FIRST = [
    "Jean",
    "Marie",
    "Pierre",
    "Nathalie",
    "Michel",
    "Isabelle",
    "Philippe",
    "Sylvie",
    "Alain",
    "Catherine",
    "Nicolas",
    "Sophie",
    "Julien",
    "Camille",
    "Lucas",
    "Léa",
    "Thomas",
    "Chloé",
    "Hugo",
    "Manon",
    "Louis",
    "Emma",
    "Karim",
    "Fatima",
    "Yann",
]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guerin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clement",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fontaine",
    "Chevalier",
]
STATUSES = ["contact"] * 6 + ["sympathisant"] * 3 + ["militant", "adherent"]


def fill(people: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from campagne.lib.text import search_key
    from campagne.people.models import Person

    rng = random.Random(14)
    communes = list(
        Person._meta.get_field("commune")
        .related_model.objects.filter(population__gt=0)
        .values_list("code", "population")
    )
    codes = [c for c, _ in communes]
    weights = [p for _, p in communes]
    now = timezone.now()
    table = Person._meta.db_table
    columns = [
        "civility",
        "first_name",
        "last_name",
        "search_name",
        "search_name_rev",
        "email",
        "phone",
        "address_line",
        "address_extra",
        "postal_code",
        "commune_id",
        "birth_year",
        "status",
        "origin",
        "created_at",
        "updated_at",
    ]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - fixed names
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    batch_size = 20_000
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, people, batch_size):
            rows = []
            chosen = rng.choices(codes, weights=weights, k=min(batch_size, people - start))
            for offset, code in enumerate(chosen):
                n = start + offset
                first, last = rng.choice(FIRST), rng.choice(LAST)
                rows.append(
                    (
                        "",
                        first,
                        last,
                        search_key(f"{last} {first}"),
                        search_key(f"{first} {last}"),
                        f"{search_key(first)}.{search_key(last)}{n}@bench.example.fr",
                        f"+336{n:08d}",
                        "",
                        "",
                        "",
                        code,
                        1940 + n % 60,
                        rng.choice(STATUSES),
                        "bench",
                        now,
                        now,
                    )
                )
            cursor.executemany(sql, rows)
            log(f"  {start + len(rows):>9,} people")
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    log(f"filled {people:,} people in {time.perf_counter() - started:.1f}s")


def measure(client, url: str, repeats: int) -> list[float]:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    setup_django("people-list")
    fill(args.people)

    from django.test import Client

    from campagne.accounts.models import Role, User

    admin = User.objects.create_user("bench-admin@example.test", role=Role.HQ_ADMIN)
    organizer = User.objects.create_user("bench-orga@example.test", role=Role.ORGANIZER)
    organizer.departements.set(["13"])
    pages = {
        "admin_search_status": ("admin", "/personnes/?q=mar&status=sympathisant"),
        "admin_search_full_name": ("admin", "/personnes/?q=dupont+ma"),
        "admin_first_page": ("admin", "/personnes/"),
        "organizer_search": ("organizer", "/personnes/?q=ber&status=contact"),
        "organizer_email": ("organizer", "/personnes/?q=jean.martin1"),
    }
    clients = {"admin": Client(), "organizer": Client()}
    clients["admin"].force_login(admin)
    clients["organizer"].force_login(organizer)
    details = {}
    all_timings = []
    for name, (who, url) in pages.items():
        measure(clients[who], url, 2)  # warm caches
        timings = measure(clients[who], url, args.repeats)
        details[name] = round(statistics.median(timings), 4)
        all_timings += timings
        log(f"{name:<26} median {details[name] * 1000:7.1f} ms  max {max(timings) * 1000:7.1f} ms")
    # The figure: the filtered, searched page (search + status filter).
    emit(
        {
            "job": "people_list",
            "size": args.people,
            "seconds": details["admin_search_status"],
            "organizer_seconds": details["organizer_search"],
            "max_median_seconds": max(details.values()),
            "pages": details,
        }
    )


if __name__ == "__main__":
    main()
