# Stand-in for mariadb:11.4: Debian bookworm's MariaDB server (10.11), with an
# entrypoint and healthcheck.sh that honour what docker-compose.yml uses
# (MARIADB_DATABASE, MARIADB_USER, MARIADB_PASSWORD,
# MARIADB_RANDOM_ROOT_PASSWORD, server options as the command, and
# `healthcheck.sh --connect --innodb_initialized`).
FROM crm-standin/debian:bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends mariadb-server \
    && rm -rf /var/lib/apt/lists/* /var/lib/mysql \
    && mkdir -p /var/lib/mysql /run/mysqld \
    && chown mysql:mysql /var/lib/mysql /run/mysqld
COPY standin-mariadb-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
COPY standin-mariadb-healthcheck.sh /usr/local/bin/healthcheck.sh
VOLUME /var/lib/mysql
EXPOSE 3306
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["mariadbd"]
