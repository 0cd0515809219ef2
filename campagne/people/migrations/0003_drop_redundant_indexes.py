"""Drop the people indexes on ``commune_id`` alone and ``status`` alone.

person_commune_name / person_commune_status start with the commune and person_status_name
with the status: SQLite and PostgreSQL use those for any query the single-column indexes
served, and every extra index costs each insert (a 700,000-person import inserts that many).

Only the indexes are dropped: Django's own ``AlterField`` would rebuild the whole table on
SQLite (twice) to change nothing else.
"""

import django.db.models.deletion
from django.db import migrations, models

# (column, name for the index if the migration is reversed)
_COLUMNS = (("commune_id", "people_person_commune_id_idx"), ("status", "people_person_status_idx"))


def _single_column_indexes(schema_editor, column):
    """Names of the plain indexes on exactly ``column`` of people_person."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "people_person")
    return [
        name
        for name, info in constraints.items()
        if info["index"]
        and not info["unique"]
        and not info["primary_key"]
        and info["columns"] == [column]
    ]


def drop_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    for column, _name in _COLUMNS:
        for name in _single_column_indexes(schema_editor, column):
            schema_editor.execute(f"DROP INDEX {quote(name)}")


def create_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    for column, name in _COLUMNS:
        if not _single_column_indexes(schema_editor, column):
            schema_editor.execute(
                f"CREATE INDEX {quote(name)} ON {quote('people_person')} ({quote(column)})"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0002_person_commune_status_index"),
        ("territory", "0003_load_france"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="person",
                    name="commune",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="people",
                        to="territory.commune",
                        verbose_name="commune",
                    ),
                ),
                migrations.AlterField(
                    model_name="person",
                    name="status",
                    field=models.CharField(
                        choices=[
                            ("contact", "Contact"),
                            ("sympathisant", "Sympathisant"),
                            ("militant", "Bénévole (militant)"),
                            ("adherent", "Adhérent"),
                        ],
                        default="contact",
                        max_length=20,
                        verbose_name="statut",
                    ),
                ),
            ],
        ),
    ]
