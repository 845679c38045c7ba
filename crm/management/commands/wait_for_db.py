import time

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connections


class Command(BaseCommand):
    help = "Wait until the database accepts connections (for container start-up)."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=int, default=60)
        parser.add_argument("--database", default="default")

    def handle(self, *args, timeout, database, **options):
        deadline = time.monotonic() + timeout
        while True:
            try:
                connections[database].ensure_connection()
            except OperationalError as error:
                if time.monotonic() > deadline:
                    raise CommandError(f"No database after {timeout} s: {error}") from error
                connections[database].close()
                time.sleep(1)
            else:
                self.stdout.write("Database is up.")
                return
