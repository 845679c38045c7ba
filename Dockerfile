# Production image: docker build -t crm-umkm .   (README, "Deploying with Docker")
#
# Stage 1 builds wheels (mysqlclient needs a compiler and the MySQL headers);
# stage 2 installs them into a small image with only the runtime library.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential pkg-config default-libmysqlclient-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt requirements-mysql.txt ./
RUN pip wheel --wheel-dir /wheels -r requirements.txt -r requirements-mysql.txt


FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    LOG_FORMAT=json
# The MySQL client library at run time (no compiler, no headers).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 crm
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links /wheels /wheels/* && rm -rf /wheels
WORKDIR /app
COPY --chown=crm:crm . .
# Static files are collected into the image, served by whitenoise.
RUN SECRET_KEY=collectstatic-only-not-a-real-key-0123456789abcdef ENV_FILE= \
    python manage.py collectstatic --noinput
USER crm
EXPOSE 8000
# /healthz checks the database, migrations and a worker's heartbeat.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
ENTRYPOINT ["docker/entrypoint.sh"]
CMD ["web"]
