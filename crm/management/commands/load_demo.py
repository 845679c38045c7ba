from datetime import timedelta

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from crm.demo_data import DEMO_MESSAGE_TEMPLATES
from crm.models import (
    Customer,
    Fulfilment,
    MessageTemplate,
    Opportunity,
    Payment,
    Stage,
    StageChange,
    Status,
    rollups,
)

DEMO_FIXTURE = "fixtures/demo.json"


class Command(BaseCommand):
    help = (
        "Load the demo customers and opportunities into an empty CRM, with dates "
        "moved so the newest activity is today."
    )

    def handle(self, *args, **options):
        if Customer.objects.exists():
            self.stdout.write("The CRM already has customers; demo data not loaded.")
            return
        with transaction.atomic():
            call_command("loaddata", DEMO_FIXTURE, verbosity=0)
            # The fixture carries no search text; it is derived data.
            Opportunity.objects.all().refresh_search_text()
            shift = self.days_since_newest_activity()
            if shift:
                self.shift_dates(timedelta(days=shift))
            # Fixtures and UPDATEs skip save(), which keeps the dashboard's rollups.
            rollups.rebuild()
            for name, text in DEMO_MESSAGE_TEMPLATES.items():
                MessageTemplate.objects.get_or_create(name=name, defaults={"text": text})
            self.add_orders_and_follow_ups()
        self.stdout.write(
            f"Loaded demo data: {Customer.objects.count()} customers, "
            f"{Opportunity.objects.count()} opportunities."
        )

    def add_orders_and_follow_ups(self):
        """Payments on the newest won deals and next steps on open ones, so the
        orders figures and the follow-up badges have something to show."""
        today = timezone.localdate()
        won = Opportunity.objects.filter(stage=Stage.WON).order_by("-closed_at")[:8]
        for i, order in enumerate(won):
            order.payment_due_date = today + timedelta(days=(i % 4) * 7 - 7)
            order.fulfilment_status = [
                Fulfilment.IN_PROGRESS, Fulfilment.DONE, Fulfilment.DELIVERED
            ][i % 3]
            order.save(update_fields=["payment_due_date", "fulfilment_status"])
            if i % 4 != 3:  # a quarter unpaid
                paid = order.amount if i % 4 == 0 else order.amount // 2  # lunas or DP
                Payment.objects.create(
                    opportunity=order, amount=paid, paid_on=today - timedelta(days=i),
                    method=[Payment.Method.TRANSFER, Payment.Method.QRIS, Payment.Method.CASH][
                        i % 3
                    ],
                )
        steps = ["Telepon lagi", "Kirim contoh produk", "Kirim penawaran harga", "Ajak ketemu"]
        open_ones = Opportunity.objects.filter(status=Status.OPEN).order_by("-created_at")[:12]
        for i, deal in enumerate(open_ones):
            deal.next_step = steps[i % len(steps)]
            deal.next_step_date = today + timedelta(days=i % 5 - 2)  # some overdue
            deal.save(update_fields=["next_step", "next_step_date"])

    def days_since_newest_activity(self):
        newest = StageChange.objects.aggregate(newest=Max("changed_at"))["newest"]
        if newest is None:
            return 0
        return (timezone.now() - newest).days

    def shift_dates(self, delta):
        # The fixture was written on one day; moving every date by the same
        # amount keeps the pipeline's shape and makes "this month" meaningful.
        Customer.objects.update(created_at=F("created_at") + delta)
        Opportunity.objects.update(
            created_at=F("created_at") + delta,
            closed_at=F("closed_at") + delta,
            stage_changed_at=F("stage_changed_at") + delta,
            expected_close_date=F("expected_close_date") + delta,
        )
        StageChange.objects.update(changed_at=F("changed_at") + delta)
