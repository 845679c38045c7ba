#!/usr/bin/env bash
# Stand-ins for the official base images when Docker Hub cannot be reached:
# `python:3.11-slim` and `mariadb:11.4`, built from Debian's own packages
# (debootstrap, then `docker import`), so that the project's Dockerfile and
# docker-compose.yml are what docker/check/check.sh tests. An image already
# present (pulled or built by an earlier run) is kept as it is.
#
#   docker/check/standin-images.sh python:3.11-slim mariadb:11.4
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_BASE=crm-standin/debian:bookworm

log() { echo "== $*" >&2; }

have() { docker image inspect "$1" >/dev/null 2>&1; }

pull() {
  # Docker Hub unreachable ends in a refusal or a timeout; do not wait long.
  timeout 60 docker pull -q "$1" >/dev/null 2>&1
}

debian_base() {
  have "$DEBIAN_BASE" && return
  command -v debootstrap >/dev/null || {
    echo "debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
  local root
  root="$(mktemp -d /tmp/crm-standin-rootfs.XXXXXX)"
  log "debootstrap bookworm into $root (a few minutes, once)"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$DEBIAN_MIRROR" \
    >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; rm -rf "$root" "$root.log"; exit 1; }
  # The official images' sources: the release, its updates and security.
  cat >"$root/etc/apt/sources.list" <<SOURCES
deb $DEBIAN_MIRROR bookworm main
deb $DEBIAN_MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
  # Where this machine reaches the internet through an intercepting proxy,
  # its CA is among the local ones: the stand-ins trust it too, or no build
  # could reach PyPI. The official images would need the same on such a machine.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null 2>&1
  fi
  # The official Debian images' apt settings: no package caches left in a layer.
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' - "$DEBIAN_BASE" >/dev/null
  rm -rf "$root" "$root.log"
}

standin() {
  local image="$1" dockerfile="$2"
  have "$image" && { log "$image: present"; return; }
  pull "$image" && { log "$image: pulled"; return; }
  log "$image: cannot be pulled; building a stand-in from Debian bookworm's packages"
  debian_base
  docker build -q -t "$image" --label org.crm-umkm.standin=1 \
    -f "$here/$dockerfile" "$here" >/dev/null
}

for image in "$@"; do
  case "$image" in
    python:*) standin "$image" standin-python.Dockerfile ;;
    mariadb:*) standin "$image" standin-mariadb.Dockerfile ;;
    *) echo "no stand-in for $image" >&2; exit 2 ;;
  esac
done
