from django.db import migrations, models


class Migration(migrations.Migration):
    """An index for segments: status within territories, counted from the index alone."""

    dependencies = [
        ("people", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="person",
            index=models.Index(fields=["commune", "status"], name="person_commune_status"),
        ),
    ]
