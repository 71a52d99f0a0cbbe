#!/usr/bin/env bash
# Installs everything xmodal needs on a Debian/Ubuntu machine with Node >= 20.19, then builds it.
# OpenBLAS is optional: without it the native kernels are skipped and xmodal runs on plain wasm.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages xmodal uses when present: OpenBLAS for the native kernels, a font for the report plots' PNGs.
missing=()
pkg-config --exists openblas 2>/dev/null || missing+=(libopenblas-dev pkg-config)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
    echo "xmodal setup: installing ${missing[*]}" >&2
    $sudo apt-get update -qq || echo "xmodal setup: apt-get update failed; trying the install anyway" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
      || echo "xmodal setup: could not install ${missing[*]}; continuing (plain wasm without OpenBLAS)" >&2
  else
    echo "xmodal setup: no apt-get or root to install ${missing[*]}; continuing (plain wasm without OpenBLAS)" >&2
  fi
fi

npm ci --no-audit --no-fund
npm run build --silent
