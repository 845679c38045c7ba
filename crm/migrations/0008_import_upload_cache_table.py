from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    # The database caches of settings.CACHES (the uploaded spreadsheets
    # between an import's preview and its confirmation); createcachetable
    # skips tables that exist.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("crm", "0007_dashboard_rollups")]

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
