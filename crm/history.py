"""Change history (django-simple-history) and bringing deleted records back.

Every save of a customer or an opportunity through the model (forms, the
board, undo of an import) writes a historical row: who, when, every field.
A previous version is restored from its history page in the admin; a deleted
customer is restored, with the opportunities deleted with or after it, from
the list of deleted customers.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from crm.models import Customer, Opportunity

DELETED = "-"


def deleted_records(model):
    """The latest historical row of each ``model`` record that no longer exists."""
    history = model.history.model
    latest = (
        history.objects.values("id").annotate(latest=Max("history_id")).values("latest")
    )
    return history.objects.filter(history_id__in=latest, history_type=DELETED).exclude(
        id__in=model.objects.values("pk")
    )


def restore_customer(record, *, by):
    """Bring back the customer of historical ``record`` (a deletion), with its
    deleted opportunities; return how many opportunities came back.

    Raises ValidationError (restoring nothing) when it cannot: another
    customer has the number now, or the customer exists again.
    """
    if Customer.objects.filter(pk=record.id).exists():
        raise ValidationError(_("“%(name)s” exists already.") % {"name": record.name})
    customer = record.instance
    customer._history_user = by
    opportunities = [
        row.instance
        for row in deleted_records(Opportunity).filter(customer_id=record.id)
    ]
    try:
        with transaction.atomic():
            customer.save(force_insert=True)
            for opportunity in opportunities:
                # As it was: no new stage change, its closing date kept.
                opportunity._saved_stage = opportunity.stage
                opportunity._history_user = by
                opportunity.save(force_insert=True)
    except IntegrityError as error:
        raise ValidationError(
            _("Cannot restore “%(name)s”: another customer has the number %(phone)s now.")
            % {"name": record.name, "phone": record.phone}
        ) from error
    return len(opportunities)
