"""Spreadsheet import and export on an admin (customers, opportunities):
our resources, formats, forms and limits, large files previewed and
imported in the task worker (crm.import_jobs), and the errors said as
sentences. The import records and the jobs' pages are crm/admin/imports.py."""

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext
from import_export.formats.base_formats import CSV, XLSX

from crm import import_jobs
from crm.admin.imports import import_job_url
from crm.import_forms import SpreadsheetConfirmImportForm, SpreadsheetImportForm
from crm.import_preview import StoredPreview, estimate_rows
from crm.models import ImportJob
from crm.spreadsheets import (
    SpreadsheetCSV,
    SpreadsheetRefused,
    SpreadsheetXLS,
    SpreadsheetXLSX,
    import_template_workbook,
)


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
