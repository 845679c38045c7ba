"""Backups that can be restored: the whole database in one compressed file.

* MySQL/MariaDB: ``mysqldump --single-transaction`` (a consistent snapshot
  while the app keeps running), restored with the ``mysql`` client.
* SQLite: Django's ``dumpdata`` (every id kept; content types and
  permissions referred to by name, since migrate recreates them with ids of
  its own), restored with ``loaddata`` into a migrated, emptied database.
  In XML: the JSON serializer cuts times to milliseconds, XML keeps them.

The password reaches the MySQL tools through the environment, never the
command line (where ``ps`` would show it).

A backup holds password hashes, every customer and (on MySQL) live
sessions, so only its owner may read it: it is written to a temporary file
created with mode 0600 (whatever the umask) and renamed into place when
complete. A failed backup leaves no partial file, nor replaces a good one.
"""

import gzip
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.core.management import call_command
from django.db import connections

# Rebuilt by migrate, or not worth keeping: content types and permissions
# are matched by natural key; sessions only log people out. The admin log
# is kept, its content types referred to by natural key too.
DUMPDATA_EXCLUDE = ["contenttypes", "auth.permission", "sessions"]


class BackupError(Exception):
    pass


def _mysql_command(tool, settings_dict):
    command = [tool, f"--user={settings_dict['USER']}", "--default-character-set=utf8mb4"]
    host = settings_dict.get("HOST") or "127.0.0.1"
    if host.startswith("/"):
        command.append(f"--socket={host}")
    else:
        command += [f"--host={host}", f"--port={settings_dict.get('PORT') or 3306}"]
    environment = {**os.environ, "MYSQL_PWD": settings_dict.get("PASSWORD") or ""}
    return command, environment


def _is_mysql(using):
    return connections[using].vendor == "mysql"


def default_file_name(using="default"):
    return "backup.sql.gz" if _is_mysql(using) else "backup.xml.gz"


def backup(path, using="default"):
    """Write the database ``using`` to ``path`` (gzip-compressed, mode 0600)."""
    path = Path(path)
    # mkstemp creates the file readable by its owner only, before any byte.
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".part"
    )
    try:
        with open(descriptor, "wb") as raw, gzip.GzipFile(path.name, "wb", fileobj=raw) as output:
            if _is_mysql(using):
                _mysqldump(output, connections[using].settings_dict)
            else:
                _dumpdata(output, using)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def _mysqldump(output, settings_dict):
    command, environment = _mysql_command("mysqldump", settings_dict)
    command += ["--single-transaction", "--routines", "--triggers", settings_dict["NAME"]]
    dump = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=environment)
    shutil.copyfileobj(dump.stdout, output)
    errors = dump.stderr.read().decode(errors="replace")
    if dump.wait() != 0:
        raise BackupError(f"mysqldump failed: {errors.strip()}")


def _dumpdata(output, using):
    text = io.StringIO()
    call_command(
        "dumpdata", format="xml", natural_foreign=True,
        exclude=DUMPDATA_EXCLUDE, database=using, stdout=text,
    )
    output.write(text.getvalue().encode("utf-8"))


def restore(path, using="default"):
    """Replace the database ``using`` with the backup at ``path``."""
    path = Path(path)
    settings_dict = connections[using].settings_dict
    if _is_mysql(using):
        connections[using].close()
        command, environment = _mysql_command("mysql", settings_dict)
        command.append(settings_dict["NAME"])
        client = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, env=environment)
        # The client gets the SQL itself, decompressed as it goes.
        with gzip.open(path, "rb") as dump:
            try:
                shutil.copyfileobj(dump, client.stdin)
            finally:
                client.stdin.close()
        errors = client.stderr.read().decode(errors="replace")
        if client.wait() != 0:
            raise BackupError(f"mysql failed: {errors.strip()}")
    else:
        call_command("migrate", database=using, verbosity=0)
        call_command("flush", database=using, interactive=False, verbosity=0)
        # loaddata reads the format from the name: .xml.gz here.
        call_command("loaddata", str(path), database=using, verbosity=0)
