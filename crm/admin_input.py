"""What Django's admin takes from a request without checking it, checked.

Every model admin gets ``CheckedInputMixin`` through the admin site
(crm/sites.py), the libraries' (users, login protection, tasks) too. Each
check here stopped a 500 that tests/test_fuzz_admin.py found (issue 14,
point 6).
"""

from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.utils.translation import gettext


def is_value_of(field, text):
    """True if ``text``, from a request, is a value model ``field`` can hold
    (an id in range, not ``abc`` nor a 25-digit number)."""
    try:
        field.run_validators(field.to_python(text))
    except ValidationError:
        return False
    return True


class CheckedInputMixin:
    def get_object(self, request, object_id, from_field=None):
        # An empty ?_to_field= passes Django's check (it tests the value's
        # truth), then fails looking up a field named "". Empty is none.
        return super().get_object(request, object_id, from_field or None)

    def response_action(self, request, queryset):
        # Django filters the list by the ticked ids as posted: one that is no
        # id (a tampered checkbox) raised ValueError. Said as Django says
        # that nothing was selected.
        pk = queryset.model._meta.pk
        if not all(is_value_of(pk, value) for value in request.POST.getlist(ACTION_CHECKBOX_NAME)):
            self.message_user(request, gettext(
                "Items must be selected in order to perform actions on them. No items have "
                "been changed."
            ), messages.WARNING)
            return None
        return super().response_action(request, queryset)
