"""Fingerprints say whether their request is open, so the duplicate lookup needs no join."""

from typing import Any

from django.db import migrations, models

# The states that were not open when this migration was written (requests.states.OPEN is
# every state but these); frozen here so the migration means the same thing later.
NOT_OPEN = ("resolved", "closed", "rejected", "merged")


def fill_open(apps: Any, schema_editor: Any) -> None:
    """Existing fingerprints of requests in a state that is not open get open = False."""
    Fingerprint = apps.get_model("routing", "Fingerprint")
    Request = apps.get_model("requests", "Request")
    closed = Request.objects.filter(status__in=NOT_OPEN).values("pk")
    Fingerprint.objects.filter(request_id__in=closed).update(open=False)


class Migration(migrations.Migration):
    dependencies = [
        ("requests", "0005_forward_by"),
        ("routing", "0002_suggestions_hotspots"),
    ]

    operations = [
        migrations.AddField(
            model_name="fingerprint",
            name="open",
            field=models.BooleanField(default=True),
        ),
        migrations.RunPython(fill_open, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="fingerprint",
            index=models.Index(
                condition=models.Q(("open", True)),
                fields=["hall", "created_at"],
                name="fingerprint_hall_open",
            ),
        ),
    ]
