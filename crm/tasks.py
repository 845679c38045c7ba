"""Background work of the import (run by ``manage.py worker``)."""

from django_tasks import task

from crm import import_jobs


@task()
def run_import_job(job_id):
    """Run a large import or undo queued by crm.import_jobs."""
    import_jobs.run(job_id)
