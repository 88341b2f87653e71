#!/bin/sh
# Installs the client tools the system tests drive, each only if missing:
# the mysql CLI, psql, node and npm, PyMySQL, psycopg2, SQLAlchemy and
# Django for /usr/bin/python3. Only the missing packages are asked for, so
# a machine whose node comes from elsewhere (NodeSource's nodejs bundles
# npm and conflicts with Debian's npm package) is left alone.
set -e
need=""
command -v mysql >/dev/null 2>&1 || need="$need mariadb-client"
command -v psql >/dev/null 2>&1 || need="$need postgresql-client"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
for m in pymysql:python3-pymysql psycopg2:python3-psycopg2 sqlalchemy:python3-sqlalchemy django:python3-django; do
	/usr/bin/python3 -c "import ${m%%:*}" 2>/dev/null || need="$need ${m#*:}"
done
[ -z "$need" ] && exit 0
echo "installing test dependencies:$need"
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
