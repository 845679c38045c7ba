"""FULLTEXT indexes for name search on MySQL/MariaDB (see crm/search.py).

Django has no portable full-text index, and other databases search demo-sized
data with icontains, so the indexes exist only on MySQL/MariaDB.
"""

from django.db import migrations

FULLTEXT_INDEXES = [
    ("crm_customer", "customer_name_fulltext", "name, business_name"),
    ("crm_opportunity", "opp_title_fulltext", "title"),
]


def create_fulltext_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "mysql":
        return
    for table, name, columns in FULLTEXT_INDEXES:
        schema_editor.execute(f"CREATE FULLTEXT INDEX {name} ON {table} ({columns})")


def drop_fulltext_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "mysql":
        return
    for table, name, _columns in FULLTEXT_INDEXES:
        schema_editor.execute(f"DROP INDEX {name} ON {table}")


class Migration(migrations.Migration):
    # MySQL cannot run DDL inside a transaction.
    atomic = False
    dependencies = [("crm", "0001_initial")]

    operations = [migrations.RunPython(create_fulltext_indexes, drop_fulltext_indexes)]
