"""What the CRM's admins share: record visibility (crm.roles) on every page
of an owned record, read-only logs, the status badge, and an autocomplete
that shows a posted non-id as nothing chosen."""

from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.html import format_html

from crm.admin_input import is_value_of
from crm.roles import sees_all_records

STATUS_COLOURS = {
    "queued": "secondary", "sending": "info", "sent": "primary",
    "delivered": "success", "failed": "danger", "unknown": "warning",
}


class OwnedRecordsMixin:
    """Records with an owner (crm/roles.py): a user who may not see every
    salesperson's records lists, opens and changes only their own (another's
    is a 404), and what they create is theirs. New records start owned by
    their creator."""

    # visible_customers or visible_opportunities
    visible = None

    def get_queryset(self, request):
        return type(self).visible(request.user, super().get_queryset(request))

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            field = from_field or "pk"
            try:
                exists = self.model._default_manager.filter(**{field: object_id}).exists()
            except (ValueError, ValidationError):
                exists = False  # not an id at all
            if exists:
                # Someone else's record: refused, not passed off as missing.
                raise PermissionDenied
        return obj

    def history_view(self, request, object_id, extra_context=None):
        self._check_history_access(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        current = self._check_history_access(request, object_id)
        # simple-history's version page is an editable change form that saves
        # on POST with view permission alone. Here it may write only what the
        # change page may: the user's own visible record, with change
        # permission. A deleted record is never re-created from it: the owner
        # brings customers back, with their deals and the number checked,
        # from "Deleted customers".
        may_revert = current is not None and self.has_change_permission(request, current)
        if not may_revert:
            if request.method != "GET":
                raise PermissionDenied
            request.crm_history_read_only = True
        if IS_POPUP_VAR in request.POST:
            # The version page is never a popup (simple-history shows it as
            # none); a posted _popup made Django's answer to the save look for
            # the change page's object_id: a 500 after saving (found by
            # tests/test_fuzz_admin.py).
            request.POST = request.POST.copy()
            del request.POST[IS_POPUP_VAR]
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return getattr(request, "crm_history_read_only", False) or super().revert_disabled(
            request, obj
        )

    def _check_history_access(self, request, object_id):
        """The record as it is now (None once deleted), if ``request.user`` may
        see its history: the history pages look records up themselves, so the
        same visibility as the change page, and a deleted record's history is
        for those who see every record."""
        current = self.get_object(request, unquote(object_id))
        if current is None and not sees_all_records(request.user):
            raise PermissionDenied
        return current

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("owner", request.user.pk)
        return initial

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if getattr(request, "crm_history_read_only", False):
            # A version shown to someone who may not revert it: no inputs.
            return [*readonly, *flatten_fieldsets(self.get_fieldsets(request, obj))]
        if not sees_all_records(request.user):
            readonly.append("owner")  # nor give a record away out of their sight
        return readonly

    def get_list_filter(self, request):
        list_filter = super().get_list_filter(request)
        if sees_all_records(request.user):
            return list_filter
        return [name for name in list_filter if name != "owner"]

    def assign_owner(self, request, obj, change):
        if not change and not sees_all_records(request.user):
            obj.owner = request.user

    def save_model(self, request, obj, form, change):
        self.assign_owner(request, obj, change)
        super().save_model(request, obj, form, change)


class ReadOnlyAdminMixin:
    """A log or a record kept by the app: read in the admin, never edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def status_badge(status, label):
    """A WhatsApp message's status as a coloured badge."""
    return format_html(
        # badge-* for jazzmin's Bootstrap 4 styles, bg-* for its Bootstrap 5 ones.
        '<span class="badge badge-{0} bg-{0}">{1}</span>', STATUS_COLOURS.get(status, "secondary"),
        label,
    )


class IdAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete, showing a posted value that is no id (customer=abc)
    as nothing chosen: Django's looks it up in the table, which raises (a 500)
    when the page is shown again with the form's errors."""

    def optgroups(self, name, value, attr=None):
        target = self.field.target_field
        return super().optgroups(name, [v for v in value if is_value_of(target, v)], attr)
