"""An order's payments on the opportunity's page: the inline, its one-time
form token (the same form posted twice records a payment once), and what
the user is told when a post came again. The rules (each payment, and
several together, within the order) are crm.models' (crm/models/orders.py)."""

import secrets

from django import forms
from django.contrib import admin
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext

from crm.admin.widgets import PhoneFormFieldsMixin
from crm.formatting import format_rupiah
from crm.models import Payment, Status, check_payments_together, outstanding, record_payment

# The deal page's query that shows a new, empty payment row ready to fill
# (its "Record payment" button): one tap, and no script needed.
RECORD_PAYMENT_PARAM = "record_payment"


class FormTokenField(forms.CharField):
    """A hidden one-time token, new each time the form is shown; never a change."""

    def __init__(self, **kwargs):
        super().__init__(max_length=40, required=False, widget=forms.HiddenInput,
                         initial=lambda: secrets.token_urlsafe(24), **kwargs)

    def has_changed(self, initial, data):
        return False


class PaymentForm(forms.ModelForm):
    # One per new row shown (rows added by "Add another" share it, told apart
    # by their prefix): the same form posted twice records the payment once.
    form_token = FormTokenField()

    @property
    def request_token(self):
        token = self.data.get(self.add_prefix("form_token")) if self.is_bound else None
        return f"{token[:40]} {self.prefix}" if token else None

    @cached_property
    def recorded_before(self):
        """The payment this same row recorded when the form was posted before."""
        if self.instance.pk is not None or not self.request_token:
            return None
        return Payment.objects.filter(request_token=self.request_token).first()

    def has_changed(self):
        # Posted again: nothing to check or save (the first post was checked).
        return self.recorded_before is None and super().has_changed()

    def save(self, commit=True):
        if self.instance.pk is None:
            self.instance.request_token = self.request_token
        return super().save(commit)


class PaymentFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        # Each payment is checked alone by the model; together they must not
        # pay more than the order either (the domain's rule).
        if any(self.errors) or self.instance.pk is None:
            return
        kept = [form for form in self.forms
                if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        check_payments_together(
            self.instance, [form.cleaned_data.get("amount") or 0 for form in kept]
        )


class PaymentInline(PhoneFormFieldsMixin, admin.TabularInline):
    model = Payment
    form = PaymentForm
    formset = PaymentFormSet
    # The amount first: it is what is typed; the date is today's already.
    fields = ["amount", "paid_on", "method", "note", "recorded_by", "form_token"]
    readonly_fields = ["recorded_by"]
    extra = 0

    def get_extra(self, request, obj=None, **kwargs):
        if (
            obj is not None and RECORD_PAYMENT_PARAM in request.GET
            and obj.status == Status.WON and outstanding(obj) > 0
        ):
            return 1
        return self.extra


def already_recorded_message(payment):
    recorded_at = timezone.localtime(payment.created_at)
    return gettext(
        "Already recorded: the payment of %(amount)s of %(date)s was recorded at %(time)s; "
        "it was not recorded again."
    ) % {
        "amount": format_rupiah(payment.amount),
        "date": formats.date_format(payment.paid_on, "SHORT_DATE_FORMAT"),
        "time": formats.time_format(recorded_at),
    }


def save_payments(formset, *, by):
    """Save the payment rows of ``formset``, a new one recorded once by
    ``by``; return the payments an earlier post of the same rows recorded."""
    recorded_before = [row.recorded_before for row in formset.forms if row.recorded_before]
    for payment in formset.save(commit=False):
        if payment.pk is None:
            payment.recorded_by = by
            payment, recorded = record_payment(payment)
            if not recorded:
                recorded_before.append(payment)
        else:
            payment.save()
    for payment in formset.deleted_objects:
        payment.delete()
    return recorded_before
