from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    from crm.roles import sync_roles

    # Permissions are normally created after all migrations ran; the roles
    # need them now (on a fresh database they do not exist yet).
    for label in ("auth", "crm"):
        create_permissions(global_apps.get_app_config(label), verbosity=0,
                           using=schema_editor.connection.alias)
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"),
               app_labels={"auth", "crm"})


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("crm", "0010_view_all_records_permission"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
