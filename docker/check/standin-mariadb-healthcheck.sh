#!/bin/bash
# Stand-in for the official image's healthcheck.sh: --connect (the server
# answers) and --innodb_initialized (InnoDB is up), as root over the socket.
set -eu
query="SELECT 1"
for test in "$@"; do
  case "$test" in
    --connect) ;;
    --innodb_initialized)
      query="SELECT 1 FROM information_schema.ENGINES WHERE ENGINE = 'InnoDB' AND SUPPORT IN ('YES', 'DEFAULT')" ;;
    *) echo "healthcheck.sh stand-in: unknown test $test" >&2; exit 2 ;;
  esac
done
[ "$(mariadb -uroot --skip-column-names -e "$query" 2>/dev/null)" = "1" ]
