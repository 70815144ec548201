#!/usr/bin/env bash
# Makes a self-signed certificate for development and tests: never use it in production.
#
#   certs/make-dev-certs.sh [OUT_DIR]     (default: certs/dev)
#
# Writes OUT_DIR/server.crt and OUT_DIR/server.key (0600) for CN=localhost, valid 30 days, with
# subjectAltName localhost and 127.0.0.1. Start the server with
#   duckstore serve --tls-cert OUT_DIR/server.crt --tls-key OUT_DIR/server.key [--tls-required]
set -euo pipefail
out="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/dev}"
mkdir -p "$out"
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
  -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$out/server.key" -out "$out/server.crt" 2>/dev/null
chmod 600 "$out/server.key"
echo "wrote $out/server.crt and $out/server.key"
