#!/bin/sh
# pgjdbc flow: compiles compat/flows/pgjdbc/Flow.java against Debian's pgjdbc
# (/usr/share/java/postgresql.jar, javac from default-jdk-headless) and runs it. The classes are
# cached per source hash under ~/.cache/duckstore/compat-pgjdbc (falling back to $COMPAT_WORKDIR
# when the cache is not writable); nothing is downloaded.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC="$HERE/pgjdbc/Flow.java"
JAR=${PGJDBC_JAR:-/usr/share/java/postgresql.jar}
[ -f "$JAR" ] || { echo "pgjdbc not found at $JAR (Debian package libpostgresql-jdbc-java)" >&2; exit 2; }
command -v javac >/dev/null || { echo "javac not found (Debian package default-jdk-headless)" >&2; exit 2; }

KEY=$( (cat "$SRC"; ls -l "$JAR"; javac -version 2>&1) | sha256sum | cut -c1-16)
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/duckstore/compat-pgjdbc/$KEY"
if [ ! -f "$CACHE/Flow.class" ]; then
    if mkdir -p "$(dirname "$CACHE")" 2>/dev/null && [ -w "$(dirname "$CACHE")" ]; then
        TMP=$(mktemp -d "$(dirname "$CACHE")/build.XXXXXX")
    else
        CACHE="${COMPAT_WORKDIR:-$(mktemp -d)}/pgjdbc-classes"
        TMP="$CACHE.build"
        mkdir -p "$TMP"
    fi
    javac -nowarn -encoding UTF-8 -d "$TMP" -cp "$JAR" "$SRC" >&2
    # Another run may have finished first; either copy is the same.
    mv -T "$TMP" "$CACHE" 2>/dev/null || rm -rf "$TMP"
fi
exec java -Duser.timezone=UTC -Dfile.encoding=UTF-8 -Xss4m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -cp "$CACHE:$JAR" Flow
