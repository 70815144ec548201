#!/bin/sh
# Runs the driver's tests against a duckstore binary (DUCKSTORE_BIN, default target/debug/duckstore).
# tests/bootstrap.php regenerates php/generated from php/proto and starts/stops the server.
# Extra arguments go to phpunit, e.g. ./run-tests.sh --testsuite bucket
set -eu
cd "$(dirname "$0")"
# Assertions on (handlers assert their commands' shapes); deprecations off: Debian's protobuf
# runtime still creates dynamic properties, which PHP 8.2 reports on every map.
exec php -d zend.assertions=1 -d error_reporting='E_ALL & ~E_DEPRECATED' /usr/bin/phpunit "$@"
