#!/usr/bin/env bash
# Installs what the tests use and a fresh Debian machine lacks, then returns; safe to run again
# (it only installs what is missing). Everything is pinned; nothing downloads once it has run.
#   - Debian: psql and PostgreSQL 15 (the reference the compatibility scoreboard compares with),
#     the real clients the tests drive (psycopg, PHP PDO pgsql, pgjdbc and a JDK, psqlODBC with
#     unixODBC), the PHP driver's PHPUnit suite (PSR-3 logger interfaces, protobuf runtime, protoc and its well-known types:
#     libprotobuf-dev, which --no-install-recommends would skip), npm for DuckDB's library, curl
#     for its extensions (PyPI wheels).
#   - PyPI, into a virtual environment ($DUCKSTORE_COMPAT_VENV, default ~/.cache/duckstore/compat-venv):
#     compat/requirements.txt (SQLAlchemy, psycopg 2 and 3, pandas, pyodbc, dbt-postgres, pgcli).
#   - npm, into compat/node/node_modules: compat/node/package-lock.json (pg, pg-cursor, pg-copy-streams).
#   - cargo-nextest, and DuckDB's prebuilt library (scripts/fetch-libduckdb.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DEBIAN_FRONTEND=noninteractive
packages=(postgresql-client postgresql-15 openssl ca-certificates curl npm python3-psycopg php-cli php-pgsql
  libpostgresql-jdbc-java php-google-protobuf phpunit protobuf-compiler libprotobuf-dev
  php-psr-log odbc-postgresql unixodbc)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# npm may come with a Node.js that is not a Debian package
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/npm}")
fi
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: run as root (or install these Debian packages yourself): ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

venv="${DUCKSTORE_COMPAT_VENV:-$HOME/.cache/duckstore/compat-venv}"
stamp="$venv/.requirements.sha256"
want="$(sha256sum compat/requirements.txt | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "test-deps: building the Python environment in $venv"
  python="$(command -v python3)"
  if ! "$python" -m venv --help >/dev/null 2>&1; then
    apt-get install -y -qq --no-install-recommends python3-venv
    python=/usr/bin/python3
  fi
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r compat/requirements.txt
  echo "$want" > "$stamp"
fi

node_stamp=compat/node/node_modules/.lock.sha256
want="$(sha256sum compat/node/package-lock.json | cut -d' ' -f1)"
if [ ! -f "$node_stamp" ] || [ "$(cat "$node_stamp")" != "$want" ]; then
  echo "test-deps: installing the node-postgres packages into compat/node"
  (cd compat/node && npm ci --silent --no-audit --no-fund)
  echo "$want" > "$node_stamp"
fi

command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest
scripts/fetch-libduckdb.sh
