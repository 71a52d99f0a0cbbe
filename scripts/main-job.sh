#!/usr/bin/env bash
# The main job on the bundled real data set: check the engine, train I-GNN-CON on Wikipedia (model selected on
# a validation split), evaluate it on the test split with the papers' protocol. A finished run is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
xmodal() { node dist/src/cli/main.js "$@"; }

xmodal doctor --seconds 1
run=runs/wikipedia-ignn-con
if [ ! -f "$run/result.json" ]; then
  if [ -f "$run/checkpoint/meta.json" ]; then
    xmodal train --out "$run" --resume
  else
    xmodal train --method ignn-con --preset wikipedia --data datasets/wikipedia --out "$run" --force
  fi
fi
xmodal eval "$run" --report "$run/report" --force
