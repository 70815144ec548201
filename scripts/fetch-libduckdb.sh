#!/usr/bin/env bash
# Fetch the official prebuilt libduckdb.so (DuckDB 1.5.6, with ICU, JSON and Parquet built in)
# from the npm registry, verify it against pinned checksums and install it into a directory.
#
#   scripts/fetch-libduckdb.sh [DEST_DIR]      (default: .libduckdb next to this repository's Cargo.toml)
#
# The npm package is DuckDB's own Node.js bindings distribution; we only take its shared library.
# A verified tarball is cached in ${XDG_CACHE_HOME:-~/.cache}/duckstore so fresh clones skip the download.
set -euo pipefail

PACKAGE="@duckdb/node-bindings-linux-x64@1.5.6-r.1"
TARBALL="duckdb-node-bindings-linux-x64-1.5.6-r.1.tgz"
TARBALL_SHA256="1b9f82478539bb9a1d1df44bd103121a12ae52142c07158dc52b97d2ec1d69ff"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$repo_root/.libduckdb}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/duckstore"

if [ "$(uname -m)" != "x86_64" ] || [ "$(uname -s)" != "Linux" ]; then
  echo "fetch-libduckdb: only linux x86_64 is pinned here; build with --features bundled instead" >&2
  exit 1
fi

verify() { echo "$TARBALL_SHA256  $1" | sha256sum --check --status; }

if [ -f "$dest/libduckdb.so" ] && [ -f "$dest/.sha256" ] && [ "$(cat "$dest/.sha256")" = "$TARBALL_SHA256" ]; then
  exit 0
fi

mkdir -p "$cache"
if [ ! -f "$cache/$TARBALL" ] || ! verify "$cache/$TARBALL"; then
  command -v npm >/dev/null || { echo "fetch-libduckdb: npm is needed to fetch $PACKAGE" >&2; exit 1; }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$PACKAGE" >/dev/null)
  if ! verify "$work/$TARBALL"; then
    echo "fetch-libduckdb: checksum mismatch for $PACKAGE; refusing to use it" >&2
    exit 1
  fi
  mv "$work/$TARBALL" "$cache/$TARBALL.tmp" && mv "$cache/$TARBALL.tmp" "$cache/$TARBALL"
fi

staging="$(mktemp -d)"
tar -xzf "$cache/$TARBALL" -C "$staging" package/libduckdb.so
mkdir -p "$dest"
mv "$staging/package/libduckdb.so" "$dest/libduckdb.so.tmp"
mv "$dest/libduckdb.so.tmp" "$dest/libduckdb.so"
echo "$TARBALL_SHA256" > "$dest/.sha256"
rm -rf "$staging"
echo "fetch-libduckdb: installed libduckdb.so (DuckDB 1.5.6) into $dest" >&2
