"""The table of the database cache the settings name (``CACHES``), so ``migrate`` is all a new site needs.

``createcachetable`` creates the tables of the database caches in ``CACHES`` that are missing and leaves
everything else alone, so this runs again harmlessly; undoing it keeps the table.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps: Any, schema_editor: Any) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("demo", "0002_membros")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop, elidable=True)]
