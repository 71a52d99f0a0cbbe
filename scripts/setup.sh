#!/usr/bin/env bash
# Installs everything xmodal needs on a Debian/Ubuntu machine with Node >= 20.19, then builds it.
# OpenBLAS is optional: without it the native kernels are skipped and xmodal runs on plain wasm.
set -euo pipefail
cd "$(dirname "$0")/.."

# How long to wait for another apt or dpkg process (unattended upgrades, a second set-up) to release its lock.
LOCK_WAIT="${XMODAL_APT_LOCK_WAIT:-300}"

apt_run() {
  # apt >= 1.9.11 waits for dpkg's lock itself (DPkg::Lock::Timeout); apt-get update's lists lock is retried here.
  local deadline=$((SECONDS + LOCK_WAIT)) out
  while :; do
    if out=$($sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$LOCK_WAIT" "$@" 2>&1); then return 0; fi
    if grep -qiE 'could not get lock|unable to lock|is another process using it' <<<"$out" && [ $SECONDS -lt $deadline ]; then
      echo "xmodal setup: another apt/dpkg process holds the lock; waiting (up to ${LOCK_WAIT}s in all)" >&2
      sleep 2
      continue
    fi
    echo "$out" | tail -n 3 >&2
    return 1
  done
}

# Debian packages xmodal uses when present: OpenBLAS for the native kernels, a font for the report plots' PNGs.
missing=()
pkg-config --exists openblas 2>/dev/null || missing+=(libopenblas-dev pkg-config)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
    echo "xmodal setup: installing ${missing[*]}" >&2
    apt_run update -qq || echo "xmodal setup: apt-get update failed; trying the install anyway" >&2
    if apt_run install -y -qq "${missing[@]}"; then
      echo "xmodal setup: installed ${missing[*]}" >&2
    else
      echo "xmodal setup: could not install ${missing[*]} (see the lines above)" >&2
    fi
  else
    echo "xmodal setup: no apt-get or root to install ${missing[*]}" >&2
  fi
fi

npm ci --no-audit --no-fund
npm run build --silent
# Say what the install actually gave: the native kernels, or plain wasm and why.
node -e "
const s = (() => { try { return JSON.parse(require('fs').readFileSync('build/native-status.json', 'utf8')); } catch { return { ok: false, reason: 'no build status' }; } })();
console.error(s.ok ? 'xmodal setup: native kernels (OpenBLAS) built' : 'xmodal setup: native kernels not built (' + s.reason + '); xmodal runs on plain wasm, slower but correct');
"
