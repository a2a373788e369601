"""Database triggers that refuse changes to the audit log (yishiting.core.audit)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from yishiting.core import audit

    audit.install(schema_editor.connection)


def backwards(apps, schema_editor):
    from yishiting.core import audit

    audit.uninstall(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('requests', '0006_voice'),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
