from django.core.management.base import BaseCommand, CommandError

from crm.models import rollups


class Command(BaseCommand):
    help = (
        "Check the dashboard's daily rollups against the opportunities, or rebuild them "
        "(after a bulk load or a restore; run the rebuild while nothing else writes)."
    )

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--check", action="store_true", help="report rows that disagree")
        action.add_argument("--rebuild", action="store_true", help="recompute every rollup")
        parser.add_argument("--database", default="default")

    def handle(self, *args, check, rebuild, database, **options):
        if rebuild:
            rollups.rebuild(database)
            self.stdout.write("Rollups rebuilt.")
            return
        found = rollups.differences(database)
        for table, key, stored, live in found[:20]:
            self.stdout.write(f"{table} {key}: stored {stored}, live {live}")
        if found:
            raise CommandError(
                f"{len(found)} rollup rows disagree with the opportunities; "
                "run `manage.py rollups --rebuild`."
            )
        self.stdout.write("Rollups match the opportunities.")
