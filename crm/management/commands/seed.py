import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from crm.demo_data import (
    build_customers,
    build_opportunity,
    make_random,
    stage_changes_for,
)
from crm.models import Customer, Opportunity, StageChange, rollups

SALES_USERNAMES = ["sari", "budi", "dewi"]


class Command(BaseCommand):
    help = "Add generated demo customers and opportunities with bulk inserts (for benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=100)
        parser.add_argument("--opportunities", type=int, default=300)
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--random-seed", type=int, default=2026)
        parser.add_argument(
            "--days", type=int, default=365,
            help="Spread the opportunities' creation over this many past days.",
        )
        parser.add_argument(
            "--with-history",
            action="store_true",
            help="Also write each opportunity's stage history (slower; for demo data).",
        )

    def handle(self, *args, **options):
        rng = make_random(options["random_seed"])
        batch_size = options["batch_size"]
        started = time.monotonic()
        owners = self.sales_user_ids()

        # Continue the phone sequence after existing customers so numbers stay unique.
        start_index = Customer.objects.count()
        customers = build_customers(
            rng, options["customers"], start_index=start_index, owners=owners
        )
        first_new_id = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        self.bulk_insert(Customer, customers, batch_size)
        customer_ids = list(
            Customer.objects.filter(pk__gt=first_new_id).values_list("pk", flat=True)
        ) or list(Customer.objects.values_list("pk", flat=True))
        elapsed = time.monotonic() - started
        self.stdout.write(f"{len(customer_ids)} customers ready ({elapsed:.0f} s)")

        remaining = options["opportunities"]
        while remaining > 0 and customer_ids:
            size = min(batch_size, remaining)
            built = [
                build_opportunity(
                    rng, rng.choice(customer_ids), owners=owners, days=options["days"]
                )
                for _ in range(size)
            ]
            with transaction.atomic():
                saved = Opportunity.objects.bulk_create([opp for opp, _path in built])
                # bulk_create skips save(), which keeps the dashboard's rollups.
                rollups.record_new(saved)
                if options["with_history"]:
                    changes = [
                        change
                        for opp, (_unsaved, path) in zip(saved, built, strict=True)
                        for change in stage_changes_for(opp, path)
                    ]
                    StageChange.objects.bulk_create(changes, batch_size=batch_size)
            remaining -= size
        # bulk_create skips save(): derive the new rows' search text in one UPDATE.
        # On MySQL without the FULLTEXT index, built anew after: updating
        # millions of rows under it leaves it slow until optimised. (Not
        # inside a transaction, such as a test's: DDL would commit it.)
        fulltext = connection.vendor == "mysql" and not connection.in_atomic_block
        if fulltext:
            with connection.cursor() as cursor:
                cursor.execute("DROP INDEX opp_search_fulltext ON crm_opportunity")
        Opportunity.objects.filter(search_text="").refresh_search_text()
        if fulltext:
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE FULLTEXT INDEX opp_search_fulltext ON crm_opportunity (search_text)"
                )
        self.stdout.write(
            f"{options['opportunities']} opportunities added "
            f"({time.monotonic() - started:.0f} s in all)"
        )

    def sales_user_ids(self):
        User = get_user_model()
        ids = []
        for username in SALES_USERNAMES:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": username.capitalize()}
            )
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            ids.append(user.pk)
        return ids

    def bulk_insert(self, model, objects, batch_size):
        batch = []
        for obj in objects:
            batch.append(obj)
            if len(batch) == batch_size:
                model.objects.bulk_create(batch)
                batch = []
        if batch:
            model.objects.bulk_create(batch)
