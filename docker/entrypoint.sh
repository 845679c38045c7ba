#!/bin/sh
# Start one role of the CRM: web (gunicorn), worker (background tasks), or
# any manage.py command. Used by the Docker image and, outside Docker, by CI.
#
#   docker/entrypoint.sh web       # wait for the database, migrate once, serve
#   docker/entrypoint.sh worker    # wait for the database, migrate once, run tasks
#   docker/entrypoint.sh migrate   # only migrate (under the same lock)
#   docker/entrypoint.sh backup    # manage.py backup, into BACKUP_DIR
#   docker/entrypoint.sh restore backup-20261201-0200.sql.gz [--replace]
#                                  # manage.py restore, the file in BACKUP_DIR
#   docker/entrypoint.sh <command> # any manage.py command, e.g. createsuperuser
set -eu

PYTHON="${PYTHON:-python}"
APP_DIR="$(cd "$(dirname "$0")/.." && pwd)"
BIND="${BIND:-0.0.0.0:8000}"
# Two gunicorn workers per core is a good start for this I/O-bound app.
WEB_CONCURRENCY="${WEB_CONCURRENCY:-4}"

prepare() {
    "$PYTHON" manage.py wait_for_db --timeout "${DB_WAIT_SECONDS:-60}"
    # Several containers may start together: the first migrates, the others wait.
    "$PYTHON" manage.py migrate_once --timeout "${MIGRATE_WAIT_SECONDS:-600}"
}

# gunicorn has no request-body limit: the app answers 413 to a too-large
# body before reading it (crm.middleware.RequestBodyLimitMiddleware), and the
# proxy in front should too (README, "Deploying with Docker").
role="${1:-web}"
case "$role" in
    web)
        prepare
        exec "$PYTHON" -m gunicorn project.wsgi \
            --bind "$BIND" \
            --workers "$WEB_CONCURRENCY" \
            --access-logfile - \
            --config python:project.gunicorn_conf \
            --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
            --timeout "${GUNICORN_TIMEOUT:-60}"
        ;;
    worker)
        prepare
        exec "$PYTHON" manage.py worker
        ;;
    migrate)
        prepare
        ;;
    backup | restore)
        # Backups are written to and read from BACKUP_DIR (the image's
        # /data/backups, compose's backups volume), not the code's folder.
        cd "${BACKUP_DIR:-.}"
        exec "$PYTHON" "$APP_DIR/manage.py" "$@"
        ;;
    *)
        exec "$PYTHON" manage.py "$@"
        ;;
esac
