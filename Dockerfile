# Production image: built by `docker compose up -d --build` (README, "Deploying
# with Docker"); `make docker-check` builds and runs it as the README says.
#
# Stage 1 installs the requirements into a virtualenv (mysqlclient needs a
# compiler and the MySQL headers); stage 2 copies only that virtualenv, so no
# wheel, compiler or header reaches a layer of the image.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential pkg-config default-libmysqlclient-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv --without-pip /opt/venv
COPY requirements.txt requirements-mysql.txt /build/
RUN pip --python /opt/venv/bin/python install \
        -r /build/requirements.txt -r /build/requirements-mysql.txt
# mysqldump for backups, alone: Debian packages it in mariadb-client with
# Perl and twenty other tools (135 MB in the image); the binary is 5 MB and
# needs only libssl and zlib, which the base has.
RUN cd /build && apt-get update && apt-get download mariadb-client \
    && dpkg-deb --fsys-tarfile mariadb-client_*.deb | tar -x ./usr/bin/mariadb-dump \
    && rm -rf /var/lib/apt/lists/*


FROM python:3.11-slim
# No DATABASE_URL: SQLite in the data directory, the one place the app's user
# may write (docker-compose.yml sets MariaDB). `docker/entrypoint.sh backup`
# and `restore` use BACKUP_DIR (compose mounts the backups volume there).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    LOG_FORMAT=json \
    DATABASE_URL=sqlite:////data/db.sqlite3 \
    BACKUP_DIR=/data/backups
# The MySQL client library and the mysql client (restores) at run time; no
# compiler, no headers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 mariadb-client-core \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 crm \
    && mkdir -p /data/backups \
    && chown -R crm:crm /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /build/usr/bin/mariadb-dump /usr/bin/mariadb-dump
RUN ln -s mariadb-dump /usr/bin/mysqldump && mariadb-dump --version
WORKDIR /app
# The code stays root's: the app's user can read it, not change it.
COPY . .
# Static files are collected into the image, served by whitenoise.
RUN SECRET_KEY=collectstatic-only-not-a-real-key-0123456789abcdef ENV_FILE= \
    python manage.py collectstatic --noinput --verbosity 0
USER crm
EXPOSE 8000
# /healthz checks the database, migrations and a worker's heartbeat. It is
# answered over plain HTTP whatever the Host header, so this plain GET passes
# with the production settings. Migrating a new database takes a minute or two
# on 2 cores: failures in the first 5 minutes do not count.
HEALTHCHECK --interval=30s --timeout=5s --start-period=300s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
ENTRYPOINT ["docker/entrypoint.sh"]
CMD ["web"]
