#!/usr/bin/env bash
# The test command: installs what the tests need and this machine lacks (scripts/test-deps.sh),
# then runs every test. Extra arguments go to cargo nextest, e.g. scripts/test.sh -E 'test(copy)'.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/test-deps.sh
exec cargo nextest run --profile ci "$@"
