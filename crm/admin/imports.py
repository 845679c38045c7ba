"""The record of every confirmed import, with its undo, and the pages of
a background preview, import or undo (their progress)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm import import_jobs, import_progress
from crm.admin.mixins import ReadOnlyAdminMixin
from crm.imports import revert_import
from crm.models import ImportJob, ImportRecord


def import_job_url(job):
    return reverse("admin:crm_importrecord_job", args=[job.pk])


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
            "progress": import_progress.progress(job),
            "progress_url": reverse("admin:crm_importrecord_job_progress", args=[job.pk]),
            "done_url": done_url,
            "opts": self.model._meta,
        })

    def import_job_progress_view(self, request, job_id):
        return JsonResponse(import_progress.progress(self.get_import_job(request, job_id)))
