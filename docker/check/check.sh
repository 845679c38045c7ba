#!/usr/bin/env bash
# make docker-check: the Docker image built and run as README.md's "Deploying
# with Docker" says, end to end. In a copy of the working tree (so a local
# .env is never touched):
#   cp .env.example .env, fill in the values the README names
#   docker compose up -d --build (web, 2 workers, MariaDB), wait for healthy
#   createsuperuser at its prompts; log in through the "proxy" headers
#   (and an attacker's lockout does not lock the owner out); the import page;
#   a WhatsApp message sent by a worker to a fake KirimWA, recorded as sent;
#   backup, copy it off, restore it over changed data; logs as JSON lines
#   docker compose down -v
# Starts dockerd when none runs. Base images that cannot be pulled (no Docker
# Hub here) are stood in for by Debian's packages (standin-images.sh).
# Exits 0 with "SKIPPED: <reason>" only where Docker cannot run at all.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
started=$SECONDS
# Its own compose project and a free port: another run, or `make run` on
# port 8000, may share the machine.
PROJECT="crmcheck$$"
HOST_NAME=crm.example.id
PORT="${DOCKER_CHECK_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
KIRIMWA_TOKEN=docker-check-kirimwa-token
KIRIMWA_DEVICE=toko-docker-check

step() { echo "== [$((SECONDS - started))s] $*"; }
skip() { echo "SKIPPED: $*"; exit 0; }
die() { echo "FAILED: $*" >&2; exit 1; }

# --- Docker -----------------------------------------------------------------

dockerd_pid=""
if ! docker info >/dev/null 2>&1; then
  command -v docker >/dev/null || skip "no docker client on this machine"
  command -v dockerd >/dev/null || skip "no Docker engine (dockerd) on this machine"
  [ "$(id -u)" = 0 ] || skip "dockerd is not running and only root may start it"
  step "starting dockerd"
  dockerd >/tmp/docker-check-dockerd.log 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || {
    kill "$dockerd_pid" 2>/dev/null || true
    tail -5 /tmp/docker-check-dockerd.log
    skip "dockerd does not start here (see /tmp/docker-check-dockerd.log)"
  }
fi
if docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null; then
  COMPOSE=(docker-compose)
else
  die "neither 'docker compose' nor docker-compose is installed"
fi
step "Docker $(docker version -f '{{.Server.Version}}'), ${COMPOSE[*]} $("${COMPOSE[@]}" version --short)"

# --- The README's steps, in a copy of the working tree ---------------------

work="$(mktemp -d /tmp/crm-docker-check.XXXXXX)"
compose() { (cd "$work" && "${COMPOSE[@]}" "$@"); }
# The EXIT trap runs with the redirections of the command that failed
# (`... >/dev/null` would swallow the report): it writes to these copies.
exec 3>&1 4>&2
cleanup() {
  status=$?
  exec 1>&3 2>&4
  if [ $status -ne 0 ] && [ -f "$work/docker-compose.yml" ]; then
    echo "--- logs (last 60 lines of each service) ---"
    compose logs --no-color --tail 60 2>&1 || true
    docker logs --tail 20 "$PROJECT-kirimwa" 2>/dev/null || true
  fi
  docker rm -f "$PROJECT-kirimwa" >/dev/null 2>&1 || true
  [ -f "$work/docker-compose.yml" ] && compose down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$work"
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null || true
  fi
  echo "== docker-check took $((SECONDS - started)) s: $([ $status -eq 0 ] && echo passed || echo FAILED)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export COMPOSE_PROJECT_NAME=$PROJECT

(cd "$root" && git ls-files -z --cached --others --exclude-standard) \
  | (cd "$root" && tar --null --ignore-failed-read -T - -cf -) 2>/dev/null | tar -xf - -C "$work"

step "base images"
images=$(sed -n 's/^ *FROM \([^ ]*\).*/\1/p' "$work/Dockerfile" | sort -u)
images="$images $(sed -n 's/^ *image: *\(mariadb:[^ ]*\).*/\1/p' "$work/docker-compose.yml")"
# shellcheck disable=SC2086
"$here/standin-images.sh" $images

step "cp .env.example .env, and the values the README says to set"
cp "$work/.env.example" "$work/.env"
set_env() {  # KEY VALUE: replace the (possibly commented-out) line, or add one
  python3 - "$work/.env" "$1" "$2" <<'PY'
import re, sys
path, key, value = sys.argv[1:]
text = open(path).read()
line = f"{key}={value}"
pattern = re.compile(rf"^#?\s*{re.escape(key)}=.*$", re.MULTILINE)
text = pattern.sub(lambda _m: line, text, count=1) if pattern.search(text) else text + line + "\n"
open(path, "w").write(text)
PY
}
random() { python3 -c "import secrets; print(secrets.token_urlsafe($1))"; }
set_env SECRET_KEY "$(random 50)"
set_env ALLOWED_HOSTS "$HOST_NAME"
set_env CSRF_TRUSTED_ORIGINS "https://$HOST_NAME"
set_env DB_PASSWORD "$(random 24)"
set_env KIRIMWA_API_URL "http://kirimwa:8080/v1"
set_env KIRIMWA_API_TOKEN "$KIRIMWA_TOKEN"
set_env KIRIMWA_DEVICE_ID "$KIRIMWA_DEVICE"
set_env KIRIMWA_WEBHOOK_TOKEN "$(random 32)"
# The check runs at any hour; the default sending hours end at 21:00.
set_env WHATSAPP_SENDING_HOURS any
# Two gunicorn workers are plenty for one check on a small machine.
set_env WEB_CONCURRENCY 2
sed -i "s/127.0.0.1:8000:8000/127.0.0.1:$PORT:8000/" "$work/docker-compose.yml"
grep -q "127.0.0.1:$PORT:8000" "$work/docker-compose.yml" || die "no 127.0.0.1:8000:8000 in docker-compose.yml"

step "docker compose up -d --build --scale worker=2"
build_started=$SECONDS
compose build >"$work.build.log" 2>&1 || { tail -40 "$work.build.log"; rm -f "$work.build.log"; die "the image does not build"; }
rm -f "$work.build.log"
step "image built in $((SECONDS - build_started)) s: $(docker image inspect -f '{{.Size}}' crm-umkm | awk '{printf "%.0f MB", $1/1e6}')"
compose up -d --scale worker=2

step "the image: no tests, bench, docs, .ci or wheels; client tools; a writable /data, SQLite there"
docker run --rm --entrypoint sh crm-umkm -c '
  set -e
  for path in tests bench docs .ci docker/check .env .git; do
    if [ -e "/app/$path" ]; then echo "/app/$path is in the image"; exit 1; fi
  done
  wheels=$(find /app /opt /tmp /root /build /wheels -name "*.whl" 2>/dev/null | head -3)
  if [ -n "$wheels" ]; then echo "wheels in the image: $wheels"; exit 1; fi
  [ "$(id -u)" != 0 ] || { echo "runs as root"; exit 1; }
  touch /data/backups/.writable
  rm /data/backups/.writable
  if touch /app/.writable 2>/dev/null; then echo "the code is writable by the app user"; exit 1; fi
  mysqldump --version >/dev/null
  mysql --version >/dev/null
' || die "the image's contents"
docker run --rm -e SECRET_KEY="$(random 50)" crm-umkm migrate_once >/dev/null \
  || die "the image alone (no DATABASE_URL) cannot migrate its SQLite database in /data"

kirimwa_network="${PROJECT}_default"
docker run -d --name "$PROJECT-kirimwa" --network "$kirimwa_network" --network-alias kirimwa \
  --entrypoint python -w /fake \
  -v "$root/tests/fake_kirimwa.py:/fake/fake_kirimwa.py:ro" \
  -v "$here/fake_kirimwa_server.py:/fake/fake_kirimwa_server.py:ro" \
  crm-umkm fake_kirimwa_server.py 8080 "$KIRIMWA_TOKEN" "$KIRIMWA_DEVICE" >/dev/null

step "waiting for web to be healthy (its HEALTHCHECK: /healthz, database, migrations, a worker)"
web_id="$(compose ps -q web)"
health=""
for _ in $(seq 200); do
  health="$(docker inspect -f '{{.State.Health.Status}} {{.RestartCount}}' "$web_id")"
  case "$health" in
    "healthy "*) break ;;
    "unhealthy "*) die "web is unhealthy: $(docker inspect -f '{{json .State.Health.Log}}' "$web_id")" ;;
  esac
  for id in $(compose ps -q); do
    restarts="$(docker inspect -f '{{.RestartCount}} {{.Name}}' "$id")"
    [ "${restarts%% *}" = 0 ] || die "a container restarted: $restarts"
  done
  sleep 3
done
[ "${health%% *}" = healthy ] || die "web not healthy after 10 minutes: $health"
[ "$(compose ps -q worker | wc -l)" = 2 ] || die "not 2 workers"
step "healthy: $(curl -s -H "Host: $HOST_NAME" "http://127.0.0.1:$PORT/healthz")"

step "manage.py check --deploy in the web container: no issues"
deploy_check="$(compose exec -T web docker/entrypoint.sh check --deploy 2>&1)" \
  || die "check --deploy: $deploy_check"
grep -q "System check identified no issues" <<<"$deploy_check" || die "check --deploy: $deploy_check"

step "docker compose exec web docker/entrypoint.sh createsuperuser"
password="$(random 18)"
(cd "$work" && python3 "$here/journey.py" createsuperuser \
  "${COMPOSE[@]}" exec web docker/entrypoint.sh createsuperuser -- owner "$password")

shell() { compose exec -T web docker/entrypoint.sh shell -c "$1"; }
customer_id="$(shell "from crm.models import Customer
print(Customer.objects.create(name='Bu Sari', phone='0812-3456-7890').pk)" | tail -1)"

step "through the proxy: lockout, login, the import page, a WhatsApp message"
python3 "$here/journey.py" web "http://127.0.0.1:$PORT" "$HOST_NAME" owner "$password" "$customer_id"

message_status=""
for _ in $(seq 60); do
  message_status="$(shell "from crm.models import Message
print(Message.objects.get(customer_id=$customer_id).status)" | tail -1)"
  [ "$message_status" = sent ] || [ "$message_status" = delivered ] && break
  sleep 2
done
[ "$message_status" = sent ] || [ "$message_status" = delivered ] \
  || die "the message is '$message_status', not sent"
docker logs "$PROJECT-kirimwa" | grep -c '"phone_number": "6281234567890"' >/dev/null \
  || die "the fake KirimWA did not receive the message"
step "the message is '$message_status'; KirimWA got it for 6281234567890"

step "docker compose exec web docker/entrypoint.sh backup"
backup_output="$(compose exec -T web docker/entrypoint.sh backup)" || die "backup: $backup_output"
echo "$backup_output"
backup_file="$(sed -n 's/^Backup written to \(backup-[0-9-]*\.sql\.gz\).*/\1/p' <<<"$backup_output" | tr -d '\r')"
[ -n "$backup_file" ] || die "no backup file named in: $backup_output"
docker cp "$web_id:/data/backups/$backup_file" "$work/$backup_file"
gzip -t "$work/$backup_file" || die "the copied backup is not a whole gzip file"
zgrep -q 'INSERT INTO `crm_customer`' "$work/$backup_file" || die "no customers in the backup"
step "copied off the container: $backup_file, $(stat -c %s "$work/$backup_file") bytes"

change_data() {
  shell "from crm.models import Customer
Customer.objects.filter(pk=$customer_id).update(name='Changed after the backup')
Customer.objects.create(name='Added after the backup', phone='0813-0000-000$1')" >/dev/null
}
check_restored() {
  restored="$(shell "from crm.models import Customer
from crm.models import Message
print(list(Customer.objects.values_list('name', flat=True)), Message.objects.get().status)" | tail -1)"
  [ "$restored" = "['Bu Sari'] $message_status" ] || die "after the restore: $restored"
  step "restored: $restored"
}
change_data 1
step "docker compose exec web docker/entrypoint.sh restore $backup_file --replace"
compose exec -T web docker/entrypoint.sh restore "$backup_file" --replace
check_restored
change_data 2
step "docker compose exec -T web docker/entrypoint.sh restore /dev/stdin --replace < $backup_file"
compose exec -T web docker/entrypoint.sh restore /dev/stdin --replace <"$work/$backup_file"
check_restored

step "logs: every line on web's stderr is JSON, gunicorn's included; WEB_CONCURRENCY from .env"
docker logs "$web_id" 2>&1 >/dev/null | python3 -c '
import json, sys
lines = [line for line in sys.stdin if line.strip()]
loggers = set()
for line in lines:
    try:
        loggers.add(json.loads(line)["logger"])
    except (ValueError, KeyError):
        sys.exit(f"not a JSON log line: {line!r}")
if "gunicorn.access" not in loggers or "gunicorn.error" not in loggers:
    sys.exit(f"no gunicorn access or error lines among {sorted(loggers)}")
booted = sum("Booting worker with pid" in line for line in lines)
if booted != 2:
    sys.exit(f"{booted} gunicorn workers, not WEB_CONCURRENCY=2 from .env")
print(f"{len(lines)} JSON lines from {len(loggers)} loggers")
'

step "docker compose down -v"
docker rm -f "$PROJECT-kirimwa" >/dev/null
compose down -v --remove-orphans 2>&1 | tail -3
