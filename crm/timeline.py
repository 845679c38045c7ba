"""A customer's story in one list, newest first: their deals (opened, won,
lost), the payments on them and the WhatsApp messages sent to them.

Plain items, read in three queries whatever the number of deals; the
customer page (crm/admin/customers.py) shows them. Which deals are shown is
the caller's: it passes the deals the user may see (crm.roles)."""

import datetime
from dataclasses import dataclass

from django.db.models import F

from crm.models import Message, Opportunity, Payment, Stage

# How far back the page goes: the newest items of each kind.
TIMELINE_LENGTH = 30

DEAL = "deal"
WON = "won"
LOST = "lost"
PAYMENT = "payment"
MESSAGE = "message"


@dataclass(frozen=True)
class TimelineItem:
    when: datetime.datetime
    kind: str  # DEAL, WON, LOST, PAYMENT or MESSAGE
    # The deal's title (a deal or a payment on it) or the message's text.
    text: str
    amount: int | None = None
    # A message's status (Message.Status) or a lost deal's reason.
    status: str = ""
    opportunity_id: int | None = None
    message_id: int | None = None
    # A payment's date, the date the customer paid.
    paid_on: datetime.date | None = None


def customer_timeline(customer, opportunities=None, length=TIMELINE_LENGTH):
    """The newest ``length`` items of ``customer``'s story, newest first.

    ``opportunities``: the deals that may be shown (default: all); their
    payments are shown with them, another's deals and payments are not.
    """
    if customer.pk is None:
        return []
    if opportunities is None:
        opportunities = Opportunity.objects.all()
    deals = opportunities.filter(customer=customer).order_by()
    items = []
    for deal in deals.order_by("-created_at", "-pk").values(
        "pk", "title", "amount", "stage", "closed_at", "created_at", "lost_reason"
    )[:length]:
        items.append(TimelineItem(deal["created_at"], DEAL, deal["title"], deal["amount"],
                                  opportunity_id=deal["pk"]))
        if deal["closed_at"] is not None and deal["stage"] in (Stage.WON, Stage.LOST):
            kind = WON if deal["stage"] == Stage.WON else LOST
            items.append(TimelineItem(
                deal["closed_at"], kind, deal["title"], deal["amount"],
                status=deal["lost_reason"], opportunity_id=deal["pk"],
            ))
    payments = (
        Payment.objects.filter(opportunity__in=deals.values("pk"))
        .annotate(title=F("opportunity__title"))
        .order_by("-created_at", "-pk")
        .values("created_at", "title", "amount", "opportunity_id", "paid_on")[:length]
    )
    items.extend(
        TimelineItem(p["created_at"], PAYMENT, p["title"], p["amount"],
                     opportunity_id=p["opportunity_id"], paid_on=p["paid_on"])
        for p in payments
    )
    messages = (
        Message.objects.filter(customer=customer)
        .order_by("-created_at", "-pk")
        .values("pk", "created_at", "text", "status")[:length]
    )
    items.extend(
        TimelineItem(m["created_at"], MESSAGE, m["text"], status=m["status"], message_id=m["pk"])
        for m in messages
    )
    items.sort(key=lambda item: item.when, reverse=True)
    return items[:length]
