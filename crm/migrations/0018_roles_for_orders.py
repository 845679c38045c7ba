from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations


def sync_roles(apps, schema_editor):
    from crm.roles import sync_roles

    # Payments and notification rules are new: give the roles their permissions.
    for label in ("auth", "crm", "axes"):
        create_permissions(global_apps.get_app_config(label), verbosity=0,
                           using=schema_editor.connection.alias)
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


class Migration(migrations.Migration):
    dependencies = [("crm", "0017_notifications")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
