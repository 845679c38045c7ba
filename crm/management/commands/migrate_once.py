"""``migrate``, once, however many containers start at the same moment.

Several web and worker containers start together on an upgrade; each runs
this before starting. The first takes a database-wide lock and migrates;
the others wait for the lock, then find nothing left to do.
"""

import contextlib
import fcntl
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

LOCK_NAME = "crm-migrate"


@contextlib.contextmanager
def migration_lock(using, timeout):
    connection = connections[using]
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT GET_LOCK(%s, %s)", [LOCK_NAME, timeout])
            if cursor.fetchone()[0] != 1:
                raise CommandError(f"Another process held the migration lock for {timeout} s")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT RELEASE_LOCK(%s)", [LOCK_NAME])
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [LOCK_NAME])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [LOCK_NAME])
    else:
        # SQLite: one machine, so a lock file next to the database will do.
        name = connection.settings_dict["NAME"]
        lock_path = Path(f"{name}.migrate-lock") if name != ":memory:" else None
        if lock_path is None:
            yield
            return
        with open(lock_path, "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)


class Command(BaseCommand):
    help = "Apply migrations under a database-wide lock (safe when containers start together)."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")
        parser.add_argument("--timeout", type=int, default=600,
                            help="seconds to wait for another process's migration")

    def handle(self, *args, database, timeout, **options):
        with migration_lock(database, timeout):
            call_command("migrate", database=database, interactive=False,
                         verbosity=options["verbosity"])
