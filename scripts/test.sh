#!/usr/bin/env bash
# The test suite, with what its end-to-end tests need: Debian's Chromium for the search page's test, and the
# PostgreSQL + pgvector server the pgvector tests run against (scripts/postgres.sh), started first and stopped
# after when this script started it. Without root or apt either is left out, and its tests are skipped with a
# line saying so (under CI=true they fail instead).
set -uo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; fi
  if [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; then
    echo "xmodal test: installing Debian's chromium for the search page's test" >&2
    { $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq \
      && $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium >/dev/null; } \
      || echo "xmodal test: could not install chromium; the page's test will be skipped" >&2
  fi
fi
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
