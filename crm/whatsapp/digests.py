"""The morning digest: each salesperson's follow-ups due and overdue payments,
sent to their own WhatsApp number through the outbox, once a day."""

from django.utils import timezone

from crm.formatting import format_rupiah
from crm.models import Message, Opportunity, PaymentStatus, StaffProfile, Status
from crm.phones import is_sendable
from crm.whatsapp import outbox


def digest_text(user, today):
    """The morning digest for ``user``: their follow-ups due (or overdue) and
    their orders whose payment is overdue; None when there is nothing."""
    mine = Opportunity.objects.filter(owner=user).select_related("customer")
    follow_ups = mine.filter(status=Status.OPEN, next_step_date__lte=today).order_by(
        "next_step_date", "pk"
    )
    overdue = (
        mine.filter(status=Status.WON, payment_due_date__lt=today)
        .exclude(payment_status=PaymentStatus.PAID)
        .order_by("payment_due_date", "pk")
    )
    if not follow_ups and not overdue:
        return None
    name = user.get_full_name() or user.get_username()
    lines = [f"Selamat pagi, {name}!"]
    if follow_ups:
        lines.append(f"Tindak lanjut hari ini ({len(follow_ups)}):")
        lines += [
            f"- {deal.customer.name}: {deal.next_step or deal.title}"
            + (" (terlambat)" if deal.next_step_date < today else "")
            for deal in follow_ups
        ]
    if overdue:
        lines.append(f"Pembayaran terlambat ({len(overdue)}):")
        lines += [
            f"- {deal.customer.name}: {deal.title}, sisa "
            f"{format_rupiah(deal.amount - deal.amount_paid)}"
            for deal in overdue
        ]
    return "\n".join(lines)


def send_digests(today=None):
    """Queue each salesperson's morning digest to their own WhatsApp number,
    once per day; return how many were queued."""
    today = today or timezone.localdate()
    profiles = StaffProfile.objects.filter(
        daily_digest=True, user__is_active=True
    ).exclude(whatsapp="").select_related("user")
    return outbox.queue(
        Message(staff=profile.user, phone=profile.whatsapp, text=text,
                event_key=f"digest {profile.user_id} {today}")
        for profile in profiles
        if is_sendable(profile.whatsapp) and (text := digest_text(profile.user, today))
    )
