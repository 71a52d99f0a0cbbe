#!/usr/bin/env bash
# The test suite, with the PostgreSQL + pgvector server its pgvector tests run against (scripts/postgres.sh):
# started first, stopped after when this script started it. Without root or apt to install PostgreSQL the
# server is not started, and those tests are skipped with a line saying so (under CI=true they fail instead).
set -uo pipefail
cd "$(dirname "$0")/.."
started=""
if bash scripts/postgres.sh url >/dev/null 2>&1; then
  echo "xmodal test: using the running PostgreSQL ($(bash scripts/postgres.sh url))" >&2
elif bash scripts/postgres.sh start >/dev/null; then
  started=1
  echo "xmodal test: started PostgreSQL with pgvector ($(bash scripts/postgres.sh url))" >&2
else
  echo "xmodal test: no PostgreSQL with pgvector (see above); its tests will be skipped" >&2
fi
npm test
status=$?
[ -z "$started" ] || bash scripts/postgres.sh stop
exit $status
