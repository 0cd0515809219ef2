"""Load all of France (régions to communes, populations, points, postcodes) on migrate.

The loader works on the historical models handed over by ``apps``, so this migration keeps
working as the models evolve; see campagne/territory/loader.py.
"""

from django.db import migrations


def load_france(apps, schema_editor):
    from campagne.territory.loader import load_france

    load_france(using=schema_editor.connection.alias, apps=apps)


class Migration(migrations.Migration):

    dependencies = [
        ("territory", "0002_postalcode_search_names"),
    ]

    operations = [
        # Unapplying keeps the rows: the earlier migrations' table drops remove them.
        migrations.RunPython(load_france, migrations.RunPython.noop, elidable=False),
    ]
