from django.db import connections, migrations, models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Concat


def refresh_search_text(apps, schema_editor):
    # The search text now ends with the customer's number (crm.models.search_text_of).
    # On MySQL the FULLTEXT index is built anew afterwards: updating every row
    # under the index leaves it full of deleted entries, and searches slow
    # down several times until an OPTIMIZE has gone through every word.
    mysql = schema_editor.connection.vendor == "mysql"
    if mysql:
        schema_editor.execute("DROP INDEX opp_search_fulltext ON crm_opportunity")
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
    if mysql:
        schema_editor.execute(
            "CREATE FULLTEXT INDEX opp_search_fulltext ON crm_opportunity (search_text)"
        )
        _check_fulltext_finds(Opportunity, schema_editor.connection.alias)


def _check_fulltext_finds(Opportunity, using):
    # Seen once on MariaDB 10.11: an index built while InnoDB's background
    # FULLTEXT optimisation still worked on the table found nothing at all.
    # Searching would silently find nothing, so stop here instead.
    sample = Opportunity.objects.using(using).values_list("search_text", flat=True).first()
    words = [word for word in (sample or "").split() if len(word) >= 3 and word.isalnum()]
    if not words:
        return
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM crm_opportunity "
            "WHERE MATCH (search_text) AGAINST (%s IN BOOLEAN MODE)",
            [f"+{words[0]}"],
        )
        if cursor.fetchone()[0] == 0:
            raise RuntimeError(
                "The rebuilt FULLTEXT index opp_search_fulltext finds nothing. Run "
                "`manage.py migrate crm 0014` and `manage.py migrate` again."
            )


class Migration(migrations.Migration):
    # One UPDATE of every opportunity: on MySQL, not wrapped in a transaction.
    atomic = False

    dependencies = [("crm", "0014_owner_unlocks_logins")]

    operations = [migrations.RunPython(refresh_search_text, migrations.RunPython.noop)]
