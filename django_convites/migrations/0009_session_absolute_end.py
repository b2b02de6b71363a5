# Absolute end of a session family (SESSION_MAX_LIFETIME).

from datetime import timedelta

from django.db import migrations, models


def set_absolute_end(apps, schema_editor):
    """Give every existing family the default absolute end: 30 days after its login."""
    SessionFamily = apps.get_model("django_convites", "SessionFamily")
    SessionFamily.objects.using(schema_editor.connection.alias).filter(expires_at__isnull=True).update(
        expires_at=models.F("created_at") + timedelta(days=30)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("django_convites", "0008_totp_secrets"),
    ]

    operations = [
        migrations.AddField(
            model_name="sessionfamily",
            name="expires_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="ends at"),
        ),
        migrations.RunPython(set_absolute_end, migrations.RunPython.noop, elidable=True),
    ]
