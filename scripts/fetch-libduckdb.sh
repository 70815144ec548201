#!/usr/bin/env bash
# Fetch the official prebuilt libduckdb.so (DuckDB 1.5.5, with ICU, JSON and Parquet built in)
# from the npm registry, and DuckDB's own signed builds of the extensions we load (httpfs; ducklake
# and postgres_scanner for later) from PyPI, verify each against pinned checksums and install them
# into a directory: the library at its top, the extensions under extensions/.
#
#   scripts/fetch-libduckdb.sh [DEST_DIR]      (default: .libduckdb next to this repository's Cargo.toml)
#
# The npm package is DuckDB's own Node.js bindings distribution; we only take its shared library.
# The PyPI wheels duckdb-extension-<name> hold DuckDB's signed extension binaries, the only copies
# reachable from package registries; an extension must match the library's version exactly.
# Verified downloads are cached in ${XDG_CACHE_HOME:-~/.cache}/duckstore so fresh clones skip them.
# Nothing is downloaded at run or test time.
set -euo pipefail

VERSION="1.5.5"
PACKAGE="@duckdb/node-bindings-linux-x64@1.5.5-r.5"
TARBALL="duckdb-node-bindings-linux-x64-1.5.5-r.5.tgz"
TARBALL_SHA256="86d2bda909785550e8a14a57a8a4584827aff0e268d8f1a58c3fd48559f7020e"
PYPI="https://files.pythonhosted.org/packages"
# name, wheel path on PyPI's file host, the wheel's sha256 (as PyPI lists it), the extension
# file's sha256 (src/engine/extensions.rs checks it again before loading)
EXTENSIONS=(
  "httpfs 02/14/921faf933bb5cae7fb477c69f684fbea26bb4d76ff937d19d486af3a54cb/duckdb_extension_httpfs-1.5.5-py3-none-manylinux2014_x86_64.whl 84913dbe172ccb54368de2c4a020c38ca8b0e76f99df548f7fac37934cc7826f 887c392b1e49128d11667c81e3698d8b00dfdeb456771acf66d05a0f74f7b7d8"
  "ducklake cb/12/d4dab9f3199b3475be36bc0a30a14ae784500396b14bcbb4a29b2e52ce6c/duckdb_extension_ducklake-1.5.5-py3-none-manylinux2014_x86_64.whl b631ae4dd4bd649b3db35a789dbcc859476fe231ef449b3f03f4fe4e2ef4a946 e51bf9e8d933d0e83780ae096455501b542cf962569a2ce5613532d702c08302"
  "postgres_scanner eb/e8/e722cafafea80348567368db31a144afd4a08967876b4d52e3fffd310937/duckdb_extension_postgres_scanner-1.5.5-py3-none-manylinux2014_x86_64.whl fea9413d1b5bded7ead650aff91b3d7578c5149d832f666100b362f64404bf18 b1ced4cfc6311313e117c2afb3eac76508718778dde0716421503c7dbfb5605c"
)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$repo_root/.libduckdb}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/duckstore"

if [ "$(uname -m)" != "x86_64" ] || [ "$(uname -s)" != "Linux" ]; then
  echo "fetch-libduckdb: only linux x86_64 is pinned here; build with --features bundled instead" >&2
  exit 1
fi

# what is installed: the library's tarball and each wheel, by checksum
pins="$TARBALL_SHA256"
for e in "${EXTENSIONS[@]}"; do read -r _ _ sha _ <<<"$e"; pins="$pins $sha"; done

verify() { echo "$1  $2" | sha256sum --check --status; }

if [ -f "$dest/libduckdb.so" ] && [ -f "$dest/.sha256" ] && [ "$(cat "$dest/.sha256")" = "$pins" ]; then
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"
if [ ! -f "$cache/$TARBALL" ] || ! verify "$TARBALL_SHA256" "$cache/$TARBALL"; then
  command -v npm >/dev/null || { echo "fetch-libduckdb: npm is needed to fetch $PACKAGE" >&2; exit 1; }
  (cd "$work" && npm pack --silent "$PACKAGE" >/dev/null)
  if ! verify "$TARBALL_SHA256" "$work/$TARBALL"; then
    echo "fetch-libduckdb: checksum mismatch for $PACKAGE; refusing to use it" >&2
    exit 1
  fi
  mv "$work/$TARBALL" "$cache/$TARBALL.tmp" && mv "$cache/$TARBALL.tmp" "$cache/$TARBALL"
fi
for e in "${EXTENSIONS[@]}"; do
  read -r name path sha _ <<<"$e"
  wheel="${path##*/}"
  if [ ! -f "$cache/$wheel" ] || ! verify "$sha" "$cache/$wheel"; then
    command -v curl >/dev/null || { echo "fetch-libduckdb: curl is needed to fetch $wheel" >&2; exit 1; }
    curl -fsSL --retry 3 -o "$work/$wheel" "$PYPI/$path"
    if ! verify "$sha" "$work/$wheel"; then
      echo "fetch-libduckdb: checksum mismatch for $wheel; refusing to use it" >&2
      exit 1
    fi
    mv "$work/$wheel" "$cache/$wheel.tmp" && mv "$cache/$wheel.tmp" "$cache/$wheel"
  fi
done

staging="$work/staging"
mkdir -p "$staging/extensions"
tar -xzf "$cache/$TARBALL" -C "$staging" package/libduckdb.so
for e in "${EXTENSIONS[@]}"; do
  read -r name path _ file_sha <<<"$e"
  member="duckdb_extension_$name/extensions/v$VERSION/$name.duckdb_extension"
  python3 - "$cache/${path##*/}" "$member" "$staging/extensions/$name.duckdb_extension" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as out:
    shutil.copyfileobj(src, out)
PY
  if ! verify "$file_sha" "$staging/extensions/$name.duckdb_extension"; then
    echo "fetch-libduckdb: checksum mismatch for $name.duckdb_extension in its wheel; refusing to use it" >&2
    exit 1
  fi
done
mkdir -p "$dest"
rm -rf "$dest/extensions.tmp"
mv "$staging/extensions" "$dest/extensions.tmp"
rm -rf "$dest/extensions"
mv "$dest/extensions.tmp" "$dest/extensions"
mv "$staging/package/libduckdb.so" "$dest/libduckdb.so.tmp"
mv "$dest/libduckdb.so.tmp" "$dest/libduckdb.so"
echo "$pins" > "$dest/.sha256"
echo "fetch-libduckdb: installed libduckdb.so (DuckDB $VERSION) and its extensions into $dest" >&2
