from django.db import migrations


def create_sending_state(apps, schema_editor):
    # The one row every worker locks to share the limits; made here so that
    # reading it (the dashboard's alerts) never has to ask whether it exists.
    apps.get_model("crm", "SendingState").objects.get_or_create(pk=1)


class Migration(migrations.Migration):

    dependencies = [
        ("crm", "0023_confirmation_tokens"),
    ]

    operations = [
        migrations.RunPython(create_sending_state, migrations.RunPython.noop),
    ]
