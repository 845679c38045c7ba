from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Concat


def refresh_search_text(apps, schema_editor):
    # The search text now ends with the customer's number (crm.models.search_text_of).
    Customer = apps.get_model("crm", "Customer")
    Opportunity = apps.get_model("crm", "Opportunity")
    customer = Customer.objects.filter(pk=OuterRef("customer_id"))
    Opportunity.objects.using(schema_editor.connection.alias).update(
        search_text=Concat(
            "title",
            Value(" "),
            Subquery(customer.values("name")[:1]),
            Value(" "),
            Subquery(customer.values("business_name")[:1]),
            Value(" "),
            Subquery(customer.values("phone")[:1]),
            output_field=models.TextField(),
        )
    )


class Migration(migrations.Migration):
    # One UPDATE of every opportunity: on MySQL, not wrapped in a transaction.
    atomic = False

    dependencies = [("crm", "0014_owner_unlocks_logins")]

    operations = [migrations.RunPython(refresh_search_text, migrations.RunPython.noop)]
