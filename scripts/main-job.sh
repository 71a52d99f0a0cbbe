#!/usr/bin/env bash
# The main job on the bundled real data set: check the engine, train I-GNN-CON on Wikipedia (model selected on
# a validation split), evaluate it on the test split with the papers' protocol, index every item, and serve the
# index with its search page. A finished run is reused; an interrupted one is resumed.
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
xmodal index "$run" --out runs/wikipedia-index --force
exec node dist/src/cli/main.js serve runs/wikipedia-index --port "${PORT:-8080}"
