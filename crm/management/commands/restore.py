from django.core.management.base import BaseCommand, CommandError

from crm import backups
from crm.models import Customer, Opportunity


class Command(BaseCommand):
    help = "Replace the database with a backup written by `manage.py backup`."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--replace", action="store_true",
            help="allow replacing a database that holds customers or opportunities",
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args, file, replace, database, **options):
        try:
            holds_data = (Customer.objects.using(database).exists()
                          or Opportunity.objects.using(database).exists())
        except Exception:  # noqa: BLE001 - no tables yet: an empty database
            holds_data = False
        if holds_data and not replace:
            raise CommandError(
                "The database holds customers already: restoring replaces everything in it. "
                "Run again with --replace (make restore FILE=... REPLACE=1) if that is what "
                "you want."
            )
        try:
            backups.restore(file, using=database)
        except (backups.BackupError, OSError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Restored {file}")
