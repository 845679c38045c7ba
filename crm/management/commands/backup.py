from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from crm import backups


class Command(BaseCommand):
    help = "Write the whole database to a compressed backup file (see README, Backups)."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="file to write (default: backup-<date>.sql.gz "
                                             "on MySQL, backup-<date>.xml.gz on SQLite)")
        parser.add_argument("--database", default="default")

    def handle(self, *args, output, database, **options):
        if not output:
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
            output = backups.default_file_name(database).replace("backup", f"backup-{stamp}")
        try:
            path = backups.backup(output, using=database)
        except (backups.BackupError, OSError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Backup written to {path}")
