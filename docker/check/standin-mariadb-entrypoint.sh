#!/bin/bash
# The part of the official mariadb image's entrypoint that docker-compose.yml
# relies on: a first start creates MARIADB_DATABASE and MARIADB_USER with
# MARIADB_PASSWORD (all hosts), and a random root password when asked.
set -euo pipefail
if [ "${1:0:1}" = "-" ]; then
  set -- mariadbd "$@"
fi
if [ "$1" = "mariadbd" ] && [ ! -d /var/lib/mysql/mysql ]; then
  chown mysql:mysql /var/lib/mysql
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db >/dev/null
  mariadbd --user=mysql --skip-networking --socket=/run/mysqld/init.sock &
  server=$!
  for _ in $(seq 60); do
    mariadb-admin --socket=/run/mysqld/init.sock ping >/dev/null 2>&1 && break
    sleep 0.5
  done
  root_password=""
  if [ -n "${MARIADB_RANDOM_ROOT_PASSWORD:-}" ]; then
    root_password="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
    echo "GENERATED ROOT PASSWORD: $root_password"
  fi
  quote() { printf "'%s'" "${1//\'/\'\'}"; }
  {
    if [ -n "$root_password" ]; then
      echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD($(quote "$root_password"));"
    fi
    if [ -n "${MARIADB_DATABASE:-}" ]; then
      echo "CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"
    fi
    if [ -n "${MARIADB_USER:-}" ]; then
      echo "CREATE USER $(quote "$MARIADB_USER")@'%' IDENTIFIED BY $(quote "${MARIADB_PASSWORD:-}");"
      if [ -n "${MARIADB_DATABASE:-}" ]; then
        echo "GRANT ALL ON \`$MARIADB_DATABASE\`.* TO $(quote "$MARIADB_USER")@'%';"
      fi
    fi
  } | mariadb --socket=/run/mysqld/init.sock -uroot
  kill "$server"
  wait "$server" || true
fi
if [ "$1" = "mariadbd" ]; then
  shift
  exec mariadbd --user=mysql --bind-address=0.0.0.0 --port=3306 "$@"
fi
exec "$@"
