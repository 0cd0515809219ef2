import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("canvassing", "0002_organize"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="canvass",
            name="reviewed_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="canvass",
            name="reviewed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="canvass",
            index=models.Index(
                fields=["address", "door", "campaign"], name="canvass_address_door"
            ),
        ),
        migrations.AddField(
            model_name="sessionreport",
            name="client_uuid",
            field=models.UUIDField(blank=True, editable=False, null=True, unique=True),
        ),
    ]
