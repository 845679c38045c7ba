from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations


def sync_roles_with_axes(apps, schema_editor):
    from crm.roles import sync_roles

    # The owner role unlocks locked-out logins: axes' permissions, created now.
    for label in ("auth", "crm", "axes"):
        create_permissions(global_apps.get_app_config(label), verbosity=0,
                           using=schema_editor.connection.alias)
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


class Migration(migrations.Migration):
    dependencies = [
        ("axes", "0010_accessattemptexpiration"),
        ("crm", "0013_worker_heartbeat"),
    ]

    operations = [migrations.RunPython(sync_roles_with_axes, migrations.RunPython.noop)]
