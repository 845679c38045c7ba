import secrets
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX
from simple_history.admin import SimpleHistoryAdmin

from crm import import_jobs
from crm.admin_input import is_value_of
from crm.board import board_columns, move_opportunity
from crm.contacts import SpreadsheetVCF
from crm.formatting import STAGE_COLOURS, format_rupiah
from crm.history import deleted_records, restore_customer
from crm.import_forms import SpreadsheetConfirmImportForm, SpreadsheetImportForm
from crm.import_preview import StoredPreview, estimate_rows
from crm.imports import revert_import
from crm.largelists.changelist import LargeTableAdminMixin
from crm.largelists.search import search_customers, search_opportunities
from crm.models import (
    Customer,
    DeletedCustomer,
    ImportJob,
    ImportRecord,
    Opportunity,
    Payment,
    StaffProfile,
    Stage,
    StageChange,
    Status,
)
from crm.orders import outstanding, record_payment
from crm.phones import format_phone, whatsapp_chat_url
from crm.resources import CustomerResource, OpportunityResource
from crm.roles import sees_all_records, visible_customers, visible_opportunities
from crm.spreadsheets import (
    SpreadsheetCSV,
    SpreadsheetRefused,
    SpreadsheetXLS,
    SpreadsheetXLSX,
    import_template_workbook,
)
from crm.whatsapp.admin import (
    ReadOnlyAdminMixin,
    SendWhatsAppMixin,
    send_whatsapp,
    send_whatsapp_page,
    status_badge,
)

RECENT_MESSAGES = 10


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


class CityListFilter(admin.AllValuesFieldListFilter):
    """The cities to filter by: those of every customer, read through the
    city index. Django's own list takes them from the user's visible
    customers, which for a salesperson meant checking each of a million
    customers for a deal of theirs (6 s a page); a town's name tells nothing
    about anyone's customers."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = (
            model._default_manager.exclude(**{f"{field_path}__isnull": True})
            .order_by(field_path).values_list(field_path, flat=True).distinct()
        )


class OpportunityInline(admin.TabularInline):
    model = Opportunity
    fields = ["title", "amount", "stage", "lost_reason", "owner", "expected_close_date"]
    extra = 0
    show_change_link = True
    ordering = ["-created_at"]

    def get_queryset(self, request):
        # On a customer's page, only the deals the user may see.
        return visible_opportunities(request.user, super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if sees_all_records(request.user) else [*readonly, "owner"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "owner" and formfield is not None:
            # The users, read once for the page: a queryset as choices is
            # read again by every row's select (a query per deal).
            formfield.choices = list(formfield.choices)
        return formfield


class SpreadsheetAdminMixin:
    """Import and export through our resources, formats, forms and limits."""

    import_formats = [SpreadsheetCSV, SpreadsheetXLSX, SpreadsheetXLS]
    export_formats = [CSV, XLSX]
    # A CSV export starts with a byte order mark: Excel opening it by a
    # double click (and LibreOffice by default) reads it as UTF-8 then, not
    # as the PC's code page ("Bu Sum ðŸ˜€"). Our import reads it either way.
    to_encoding = "utf-8-sig"
    import_form_class = SpreadsheetImportForm
    confirm_form_class = SpreadsheetConfirmImportForm
    # ImportRecord is the import's audit trail; a LogEntry per imported row
    # would add 100,000 INSERTs to a 100,000-row import.
    skip_admin_log = True

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["skip_invalid_rows"] = import_form.cleaned_data.get("skip_invalid_rows")
        return initial

    def process_import(self, request, **kwargs):
        if request.method == "POST" and self.has_import_permission(request):
            job = self.start_background_import(request)
            if job is not None:
                return redirect(import_job_url(job))
        try:
            return super().process_import(request, **kwargs)
        except FileNotFoundError:
            # Confirmed twice (a double tap) or after the upload expired.
            message = gettext("This upload is no longer available: it was imported already, "
                              "or it expired. Upload the file again.")
        except SpreadsheetRefused as error:
            # Read within the limits at the preview, but not now (a busy server).
            message = str(error)
        finally:
            # Imported, refused or failed: the stored copy will not be read
            # again (the library removes it only after a successful import).
            if request.method == "POST" and self.has_import_permission(request):
                self.remove_upload(request.POST.get("import_file_name"))
        self.message_user(request, message, messages.ERROR)
        app_label, model_name = self.get_model_info()
        return redirect(
            reverse(f"admin:{app_label}_{model_name}_import", current_app=self.admin_site.name)
        )

    def start_background_import(self, request):
        """Queue a confirmed import of more than IMPORT_BACKGROUND_ROWS rows
        (or find the one queued by the same confirmation before); None for
        a smaller one (imported in this request) or a bad form."""
        confirm_form = self.create_confirm_form(request)
        if not confirm_form.is_valid():
            return None
        cleaned = confirm_form.cleaned_data
        started = import_jobs.import_of_upload(cleaned["import_file_name"])
        if started is not None:
            return started
        rows = import_jobs.remembered_rows(cleaned["import_file_name"])
        if not import_jobs.runs_in_background(rows):
            return None
        return import_jobs.start_import(
            model=self.model, user=request.user, upload_name=cleaned["import_file_name"],
            file_name=cleaned.get("original_file_name"), rows=rows,
            resource_class=self.choose_import_resource_class(confirm_form, request),
            format_class=self.get_import_formats()[int(cleaned["format"])],
            encoding=self.from_encoding, skip_invalid_rows=cleaned.get("skip_invalid_rows"),
        )

    def import_action(self, request, **kwargs):
        if request.method == "GET" and "preview" in request.GET:
            return self.stored_preview_view(request, request.GET["preview"], **kwargs)
        if request.method == "POST" and self.has_import_permission(request):
            job = self.start_background_preview(request)
            if job is not None:
                return redirect(import_job_url(job))
        confirmable = False
        try:
            response = super().import_action(request, **kwargs)
            context = getattr(response, "context_data", None) or {}
            confirmable = bool(context.get("confirm_form"))
            result = context.get("result")
            if result is not None:
                # What the page counts past the rows it lists (as a stored
                # preview has them: crm.import_preview).
                result.invalid_count = len(result.invalid_rows)
                result.valid_count = len(result.valid_rows())
            if confirmable and result is not None:
                import_jobs.remember_rows(
                    context["confirm_form"].initial.get("import_file_name"), result.total_rows,
                )
            return response
        finally:
            if not confirmable:
                # No confirmation will follow (the file was refused, unreadable
                # or had errors, or reading it failed): its stored copy, up to
                # 13.5 MB in the database, goes now, not when it expires.
                upload = request.FILES.get("import_file")
                self.remove_upload(getattr(upload, "tmp_storage_name", None))

    def start_background_preview(self, request):
        """Store an upload of more than IMPORT_PREVIEW_BACKGROUND_ROWS rows
        (roughly counted) and queue its preview; None for a smaller one
        (previewed in this request) or a form with errors."""
        import_form = self.create_import_form(request)
        if not import_form.is_valid():
            return None
        cleaned = import_form.cleaned_data
        upload = cleaned["import_file"]
        format_class = self.get_import_formats()[int(cleaned["format"])]
        input_format = format_class()
        upload.seek(0)
        rows = estimate_rows(upload.read(), input_format.get_extension())
        upload.seek(0)
        if not import_jobs.previews_in_background(rows):
            return None
        storage = self.write_to_tmp_storage(upload, input_format)
        upload.tmp_storage_name = storage.name
        return import_jobs.start_preview(
            model=self.model, user=request.user, upload_name=storage.name,
            file_name=upload.name, rows=rows,
            resource_class=self.choose_import_resource_class(import_form, request),
            format_class=format_class, encoding=self.from_encoding,
            skip_invalid_rows=cleaned.get("skip_invalid_rows"),
            confirm=self.get_confirm_form_initial(request, import_form),
        )

    def stored_preview_view(self, request, job_id, **kwargs):
        """The import page showing a preview the worker made, with its
        confirmation if it found nothing wrong. Only its starter sees it:
        it lists rows of their file."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        job = get_object_or_404(
            ImportJob, pk=job_id if str(job_id).isdigit() else 0, kind=ImportJob.Kind.PREVIEW,
            created_by=request.user, model_name=self.model._meta.label_lower,
        )
        if job.status != ImportJob.Status.DONE:
            return redirect(import_job_url(job))
        response = super().import_action(request, **kwargs)  # the page, its form empty
        result = StoredPreview(job.preview)
        response.context_data["result"] = result
        if not result.has_errors() and not result.has_validation_errors():
            form_class = self.get_confirm_form_class(request)
            response.context_data["confirm_form"] = form_class(initial=job.options["confirm"])
        return response

    def remove_upload(self, name):
        """Delete the stored copy of an upload, if there is one by that name."""
        if name:
            self.get_tmp_storage_class()(name=name, **self.get_tmp_storage_class_kwargs()).remove()
            import_jobs.forget_upload(name)  # its row count, if it was a large one

    def add_data_read_fail_error_to_form(self, form, e):
        # The library's message names the exception's class ("'BadZipFile'
        # encountered…"); users get a sentence, and ours say which limit.
        if isinstance(e, SpreadsheetRefused):
            message = str(e)
        else:
            message = gettext("The file could not be read. Check that the format chosen is "
                              "the file's, and that a spreadsheet program saved it.")
        form.add_error("import_file", message)

    def import_template_view(self, request):
        """An XLSX with the expected headers and two example rows, to fill in."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        workbook = import_template_workbook(self.resource_classes[0])
        response = HttpResponse(
            workbook,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = 'attachment; filename="template-impor-pelanggan.xlsx"'
        return response

    def get_urls(self):
        app_label, model_name = self.get_model_info()
        return [
            path(
                "import/template/",
                self.admin_site.admin_view(self.import_template_view),
                name=f"{app_label}_{model_name}_import_template",
            ),
            *super().get_urls(),
        ]

    def get_import_data_kwargs(self, **kwargs):
        data_kwargs = super().get_import_data_kwargs(**kwargs)
        # Rows that became invalid between preview and confirmation (another
        # user added that number meanwhile) undo the whole import too.
        data_kwargs["rollback_on_validation_errors"] = True
        return data_kwargs

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            # The transaction was rolled back: say so, not "import finished".
            messages.error(request, gettext(
                "Nothing was imported: the file could not be imported completely. "
                "Upload it again to see what is wrong."
            ))
            app_label, model_name = self.get_model_info()
            return redirect(reverse(
                f"admin:{app_label}_{model_name}_import", current_app=self.admin_site.name
            ))
        return super().process_result(result, request)

    def get_import_resource_kwargs(self, request, **kwargs):
        resource_kwargs = super().get_import_resource_kwargs(request, **kwargs)
        form = kwargs.get("form")
        if form is not None and form.is_bound and form.is_valid():
            resource_kwargs["skip_invalid_rows"] = form.cleaned_data.get(
                "skip_invalid_rows", False
            )
        return resource_kwargs

    def export_action(self, request):
        try:
            return super().export_action(request)
        except IncorrectLookupParameters:
            # The list's filters come along in the address; a value that is
            # not one (?created_at__gte=x) fails like on the list itself,
            # which redirects too.
            self.message_user(request, gettext(
                "Nothing was exported: the list's filters in the address are not valid. "
                "Choose the filters on the list again."
            ), messages.ERROR)
            app_label, model_name = self.get_model_info()
            return redirect(reverse(
                f"admin:{app_label}_{model_name}_changelist", current_app=self.admin_site.name
            ))


@admin.register(Customer)
class CustomerAdmin(
    LargeTableAdminMixin, OwnedRecordsMixin, SendWhatsAppMixin, SpreadsheetAdminMixin,
    SimpleHistoryAdmin, ImportExportModelAdmin,
):
    visible = staticmethod(visible_customers)
    list_display = ["name", "whatsapp", "business_name", "city", "source", "created_at"]
    list_filter = ["source", ("city", CityListFilter), "whatsapp_opt_out", "owner"]
    # Shown as the search box's scope; the search itself is crm.largelists.search.
    search_fields = ["name", "phone", "business_name", "email"]
    search_help_text = _("Name, business, email, or WhatsApp number in any format.")
    fieldsets = [
        (None, {"fields": ["name", "phone", "business_name", "email", "owner"]}),
        (_("Address"), {"fields": ["address", "city"]}),
        (_("More"), {"fields": ["source", "whatsapp_opt_out", "notes"]}),
        (_("WhatsApp messages"), {"fields": ["recent_messages"]}),
    ]
    readonly_fields = ["recent_messages"]
    inlines = [OpportunityInline]
    resource_classes = [CustomerResource]
    # Customers also come from phones' contacts (.vcf); opportunities do not.
    import_formats = [*SpreadsheetAdminMixin.import_formats, SpreadsheetVCF]
    actions = [send_whatsapp]
    change_form_template = "admin/crm/customer/change_form.html"

    @admin.display(description=_("Latest messages"))
    def recent_messages(self, customer):
        if customer.pk is None:
            return "-"
        latest = list(customer.whatsapp_messages.order_by("-created_at", "-pk")[:RECENT_MESSAGES])
        if not latest:
            return gettext("No WhatsApp messages yet.")
        rows = format_html_join(
            "", "<li>{} {} <span class=\"crm-message-text\">{}</span></li>",
            (
                (f"{timezone.localtime(m.created_at):%d-%m-%Y %H:%M}",
                 status_badge(m.status, m.get_status_display()), m.text)
                for m in latest
            ),
        )
        return format_html(
            '<ul class="list-unstyled mb-1">{}</ul><a href="{}?customer__id__exact={}">{}</a>',
            rows, reverse("admin:crm_message_changelist"), customer.pk,
            gettext("All messages to this customer"),
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/send-whatsapp/",
                self.admin_site.admin_view(self.send_whatsapp_view),
                name="crm_customer_send_whatsapp",
            ),
            *super().get_urls(),
        ]

    def send_whatsapp_view(self, request, object_id):
        customer = self.get_object(request, object_id)
        if customer is None or not self.has_view_permission(request, customer):
            raise Http404
        change_url = reverse("admin:crm_customer_change", args=[customer.pk])
        response = send_whatsapp_page(
            self, request, customers=Customer.objects.filter(pk=customer.pk),
            return_url=change_url,
        )
        return response or redirect(change_url)

    @admin.display(description=_("WhatsApp number"), ordering="phone")
    def whatsapp(self, customer):
        if not customer.phone:
            return "-"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            whatsapp_chat_url(customer.phone),
            format_phone(customer.phone),
        )

    def get_search_results(self, request, queryset, search_term):
        return search_customers(queryset, search_term), False

    def save_formset(self, request, form, formset, change):
        if formset.model is not Opportunity:
            return super().save_formset(request, form, formset, change)
        for opportunity in formset.save(commit=False):
            if opportunity.pk is None and opportunity.owner_id is None:
                opportunity.owner = request.user
            opportunity.save(changed_by=request.user)
        for opportunity in formset.deleted_objects:
            opportunity.delete()


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
        # pay more than the order either.
        if any(self.errors) or self.instance.pk is None:
            return
        kept = [form for form in self.forms
                if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        total = sum(form.cleaned_data.get("amount") or 0 for form in kept)
        if total > self.instance.amount:
            raise ValidationError(
                gettext("The payments add up to %(total)s, more than the amount %(amount)s.")
                % {"total": format_rupiah(total), "amount": format_rupiah(self.instance.amount)}
            )


class PaymentInline(admin.TabularInline):
    model = Payment
    form = PaymentForm
    formset = PaymentFormSet
    fields = ["paid_on", "amount", "method", "note", "recorded_by", "form_token"]
    readonly_fields = ["recorded_by"]
    extra = 0


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


class FollowUpListFilter(admin.SimpleListFilter):
    title = _("follow-up")
    parameter_name = "follow_up"

    def lookups(self, request, model_admin):
        return [
            ("mine_due", _("My follow-ups due today")),
            ("overdue", _("Overdue")),
            ("today", _("Today")),
            ("week", _("Next 7 days")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        open_ones = queryset.filter(status=Status.OPEN)
        if self.value() == "mine_due":
            return open_ones.filter(owner=request.user, next_step_date__lte=today)
        if self.value() == "overdue":
            return open_ones.filter(next_step_date__lt=today)
        if self.value() == "today":
            return open_ones.filter(next_step_date=today)
        if self.value() == "week":
            return open_ones.filter(
                next_step_date__gte=today, next_step_date__lt=today + timedelta(days=7)
            )
        return queryset


class StageChangeInline(admin.TabularInline):
    model = StageChange
    fields = ["from_stage", "to_stage", "changed_at", "changed_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Opportunity)
class OpportunityAdmin(
    LargeTableAdminMixin, OwnedRecordsMixin, SendWhatsAppMixin, SpreadsheetAdminMixin,
    SimpleHistoryAdmin, ImportExportModelAdmin,
):
    visible = staticmethod(visible_opportunities)
    list_display = [
        "title", "customer", "amount_rupiah", "stage_badge", "owner", "expected_close_date",
        "follow_up", "outstanding_rupiah",
    ]
    list_filter = [
        "stage", "status", FollowUpListFilter, "owner", "expected_close_date",
        "fulfilment_status", "payment_status", "payment_due_date",
    ]
    list_prefetch_related = ["customer", "owner"]
    search_fields = ["title", "customer__name", "customer__phone"]
    search_help_text = _("Title, or the customer's name, business or WhatsApp number.")
    autocomplete_fields = ["customer"]
    readonly_fields = [
        "status", "closed_at", "created_at", "updated_at", "amount_paid_rupiah",
        "payment_status",
    ]
    fieldsets = [
        (None, {"fields": ["customer", "title", "amount", "owner"]}),
        (_("Pipeline"), {
            "fields": ["stage", "lost_reason", "expected_close_date", "status", "closed_at"]
        }),
        (_("Follow-up"), {"fields": ["next_step", "next_step_date"]}),
        (_("Order"), {
            "fields": ["fulfilment_status", "payment_due_date", "amount_paid_rupiah",
                       "payment_status"],
            "description": _("Once the opportunity is won: the order and its payments."),
        }),
        (_("Record"), {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [PaymentInline, StageChangeInline]
    resource_classes = [OpportunityResource]
    actions = [send_whatsapp]

    @admin.display(description=_("amount"), ordering="amount")
    def amount_rupiah(self, opportunity):
        return format_rupiah(opportunity.amount)

    # The list's stage badges by (language, stage).
    stage_badges = {}

    @admin.display(description=_("stage"), ordering="stage")
    def stage_badge(self, opportunity):
        # Six stages: each badge is written once per language, not per row
        # (the lazy label's escaping was the costly part).
        key = (get_language(), opportunity.stage)
        badge = self.stage_badges.get(key)
        if badge is None:
            colour = STAGE_COLOURS[opportunity.stage]
            badge = self.stage_badges[key] = format_html(
                '<span class="badge badge-{0} bg-{0}">{1}</span>',
                colour,
                str(Stage(opportunity.stage).label),
            )
        return badge

    @admin.display(description=_("next step"), ordering="next_step_date")
    def follow_up(self, opportunity):
        if not opportunity.next_step_date or opportunity.status != Status.OPEN:
            return opportunity.next_step or "-"
        overdue = opportunity.next_step_date < timezone.localdate()
        return format_html(
            '{} <span class="badge {}">{}</span>',
            opportunity.next_step,
            "badge-danger bg-danger" if overdue else "badge-light bg-light text-dark",
            gettext("overdue") if overdue else f"{opportunity.next_step_date:%d-%m}",
        )

    @admin.display(description=_("outstanding"))
    def outstanding_rupiah(self, opportunity):
        if opportunity.status != Status.WON:
            return "-"
        return format_rupiah(outstanding(opportunity))

    @admin.display(description=_("paid (Rp)"))
    def amount_paid_rupiah(self, opportunity):
        return format_rupiah(opportunity.amount_paid)

    def get_search_results(self, request, queryset, search_term):
        return search_opportunities(queryset, search_term), False

    def save_model(self, request, obj, form, change):
        self.assign_owner(request, obj, change)
        obj.save(changed_by=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Payment:
            return super().save_formset(request, form, formset, change)
        recorded_before = [row.recorded_before for row in formset.forms if row.recorded_before]
        for payment in formset.save(commit=False):
            if payment.pk is None:
                payment.recorded_by = request.user
                payment, recorded = record_payment(payment)
                if not recorded:
                    recorded_before.append(payment)
            else:
                payment.save()
        for payment in formset.deleted_objects:
            payment.delete()
        for payment in recorded_before:
            self.message_user(request, already_recorded_message(payment), messages.WARNING)
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "customer":
            # Only customers the user may see can be picked (autocomplete
            # shows no others; a posted id of another's customer is refused).
            kwargs["queryset"] = visible_customers(request.user, Customer.objects.all())
            kwargs["widget"] = IdAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # The pipeline board

    def get_urls(self):
        board_urls = [
            path(
                "board/",
                self.admin_site.admin_view(self.board_view),
                name="crm_opportunity_board",
            ),
            path(
                "board/move/",
                self.admin_site.admin_view(require_POST(self.board_move_view)),
                name="crm_opportunity_board_move",
            ),
        ]
        return board_urls + super().get_urls()

    def board_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        filters = BoardFilterForm(request.GET, user=request.user)
        opportunities = self.get_queryset(request)
        if filters.is_valid():
            if filters.cleaned_data.get("owner"):
                opportunities = opportunities.filter(owner=filters.cleaned_data["owner"])
            opportunities = search_opportunities(opportunities, filters.cleaned_data["q"])
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Pipeline board"),
            "opts": self.model._meta,
            "columns": board_columns(opportunities),
            "filters": filters,
            "can_move": self.has_change_permission(request),
            "changelist_url": reverse("admin:crm_opportunity_changelist"),
        }
        return TemplateResponse(request, "admin/crm/opportunity/board.html", context)

    def board_move_view(self, request):
        form = BoardMoveForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(
                f"{capfirst(form.fields[name].label)}: {' '.join(errors)}"
                for name, errors in form.errors.items()
            ))
            return redirect(self._board_return_url(request))
        opportunity = get_object_or_404(
            self.get_queryset(request), pk=form.cleaned_data["opportunity"]
        )
        if not self.has_change_permission(request, opportunity):
            raise PermissionDenied
        stage = form.cleaned_data["stage"]
        try:
            move_opportunity(
                opportunity, stage, by=request.user, lost_reason=form.cleaned_data["lost_reason"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, gettext("“%(title)s” is now in %(stage)s.") % {
                "title": opportunity.title, "stage": Stage(stage).label,
            })
        return redirect(self._board_return_url(request))

    def _board_return_url(self, request):
        """Back to the board the move came from (its filters kept), never off-site."""
        target = request.POST.get("next", "")
        # Only a path: redirect() would take "foo" for a URL pattern's name.
        if target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return target
        return reverse("admin:crm_opportunity_board")


class IdAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete, showing a posted value that is no id (customer=abc)
    as nothing chosen: Django's looks it up in the table, which raises (a 500)
    when the page is shown again with the form's errors."""

    def optgroups(self, name, value, attr=None):
        target = self.field.target_field
        return super().optgroups(name, [v for v in value if is_value_of(target, v)], attr)


class BoardFilterForm(forms.Form):
    owner = forms.ModelChoiceField(
        label=_("owner"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        empty_label=_("All owners"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={
            "class": "form-control form-control-sm",
            "placeholder": _("Title, customer or WhatsApp number"),
            "type": "search",
        }),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not sees_all_records(user):
            # A salesperson's board shows only their deals: no one else to pick.
            del self.fields["owner"]


class BoardMoveForm(forms.Form):
    opportunity = forms.IntegerField(label=_("opportunity"))
    stage = forms.ChoiceField(label=_("stage"), choices=Stage.choices)
    lost_reason = forms.CharField(label=_("lost reason"), required=False, max_length=200)


@admin.register(ImportRecord)
class ImportRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every confirmed import, read-only, with an action to undo one."""

    list_display = [
        "file_name", "model_name", "imported_by", "imported_at",
        "created_count", "updated_count", "skipped_count", "reverted_at",
    ]
    list_filter = ["model_name", "imported_at"]
    actions = ["undo_imports"]

    def has_view_permission(self, request, obj=None):
        return self.has_import_permission(request)

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            # The way back to a background import's page once it was left.
            pending = ImportJob.objects.filter(
                created_by=request.user,
                status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING],
            ).order_by("pk")[:5]
            for job in pending:
                self.message_user(request, format_html(
                    '{} <a href="{}">{}</a>',
                    gettext("“%(file)s” is still at work in the background.")
                    % {"file": job.file_name or job.model_name},
                    import_job_url(job), gettext("See its progress"),
                ), messages.INFO)
        return super().changelist_view(request, extra_context)

    def has_import_permission(self, request):
        return request.user.has_perm("crm.import_customer") or request.user.has_perm(
            "crm.import_opportunity"
        )

    @admin.action(description=_("Undo the selected imports"), permissions=["import"])
    def undo_imports(self, request, queryset):
        undone, started = 0, []
        for record in queryset:
            app_label, model_name = record.model_name.split(".")
            if not request.user.has_perm(f"{app_label}.import_{model_name}"):
                raise PermissionDenied
            if record.reverted_at is None and import_jobs.undo_runs_in_background(record):
                started.append(self.start_background_undo(request, record))
                continue
            try:
                revert_import(record, by=request.user)
            except ValidationError as error:
                self.message_user(request, f"{record}: {' '.join(error.messages)}", messages.ERROR)
            else:
                undone += 1
        if undone:
            self.message_user(
                request, gettext("%(count)s import(s) undone.") % {"count": undone},
                messages.SUCCESS,
            )
        if len(started) == 1 and not undone:
            return redirect(import_job_url(started[0]))
        for job in started:
            self.message_user(request, format_html(
                '{} <a href="{}">{}</a>', gettext("Undo of “%(file)s” runs in the background.")
                % {"file": job.file_name}, import_job_url(job), gettext("See its progress"),
            ), messages.INFO)

    def start_background_undo(self, request, record):
        """The record's undo job: the one already waiting or running, or a new one."""
        pending = record.jobs.filter(
            kind=ImportJob.Kind.UNDO, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
        ).first()
        return pending or import_jobs.start_undo(record, user=request.user)

    def get_urls(self):
        return [
            path("job/<int:job_id>/", self.admin_site.admin_view(self.import_job_view),
                 name="crm_importrecord_job"),
            path("job/<int:job_id>/progress/",
                 self.admin_site.admin_view(self.import_job_progress_view),
                 name="crm_importrecord_job_progress"),
            *super().get_urls(),
        ]

    def get_import_job(self, request, job_id):
        job = get_object_or_404(ImportJob.objects.select_related("import_record"), pk=job_id)
        app_label, model_name = job.model_name.split(".")
        if not request.user.has_perm(f"{app_label}.import_{model_name}"):
            raise PermissionDenied
        if job.kind == ImportJob.Kind.PREVIEW and job.created_by_id != request.user.pk:
            raise PermissionDenied  # it leads to rows of someone else's file
        return job

    def import_job_view(self, request, job_id):
        """A background import or undo: its progress bar, refreshed by import_job.js."""
        job = self.get_import_job(request, job_id)
        app_label, model_name = job.model_name.split(".")
        if job.kind == ImportJob.Kind.PREVIEW:
            import_url = reverse(f"admin:{app_label}_{model_name}_import")
            if job.status == ImportJob.Status.DONE:
                return redirect(f"{import_url}?preview={job.pk}")
            title = gettext("Checking “%(file)s”")
            done_url = import_url  # after a failure: upload again
        elif job.kind == ImportJob.Kind.UNDO:
            title = gettext("Undoing the import of “%(file)s”")
            done_url = reverse("admin:crm_importrecord_changelist")
        else:
            title = gettext("Importing “%(file)s”")
            done_url = reverse("admin:{}_{}_changelist".format(*job.model_name.split(".")))
        return TemplateResponse(request, "admin/crm/import_job.html", {
            **self.admin_site.each_context(request),
            "title": title % {"file": job.file_name or job.model_name},
            "job": job,
            "progress": import_jobs.progress(job),
            "progress_url": reverse("admin:crm_importrecord_job_progress", args=[job.pk]),
            "done_url": done_url,
            "opts": self.model._meta,
        })

    def import_job_progress_view(self, request, job_id):
        return JsonResponse(import_jobs.progress(self.get_import_job(request, job_id)))


def import_job_url(job):
    return reverse("admin:crm_importrecord_job", args=[job.pk])


@admin.register(DeletedCustomer)
class DeletedCustomerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Where the owner finds a deleted customer and brings it back."""

    list_display = ["name", "phone", "city", "history_date", "history_user"]
    search_fields = ["name", "phone"]
    actions = ["restore_customers"]

    def get_queryset(self, request):
        return deleted_records(Customer).select_related("history_user")

    def has_view_permission(self, request, obj=None):
        # Restoring needs the same trust as deleting: the owner's.
        return request.user.has_perm("crm.delete_customer") and sees_all_records(request.user)

    def has_restore_permission(self, request):
        return self.has_view_permission(request) and request.user.has_perm("crm.add_customer")

    @admin.action(permissions=["restore"], description=_("Restore with their opportunities"))
    def restore_customers(self, request, queryset):
        for record in queryset:
            try:
                count = restore_customer(record, by=request.user)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, gettext(
                    "“%(name)s” restored with %(count)d opportunities."
                ) % {"name": record.name, "count": count}, messages.SUCCESS)


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    fields = ["whatsapp", "daily_digest"]
    verbose_name_plural = _("WhatsApp profile")


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class CrmUserAdmin(UserAdmin):
    """Django's user admin, with the user's own WhatsApp number (morning digest)."""

    inlines = [StaffProfileInline]
