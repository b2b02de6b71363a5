# Per-user count of consecutive wrong two-factor codes and the lockout it starts (TOTP_FAILURE_LIMIT).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("django_convites", "0009_session_absolute_end"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="TwoFactorLimit",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
                ("consecutive_failures", models.PositiveIntegerField(default=0, verbose_name="wrong codes in a row")),
                ("locked_until", models.DateTimeField(blank=True, null=True, verbose_name="codes refused until")),
            ],
            options={
                "verbose_name": "two-factor lockout",
                "verbose_name_plural": "two-factor lockouts",
            },
        ),
    ]
