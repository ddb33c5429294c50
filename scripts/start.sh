#!/usr/bin/env bash
# The main job: set everything up, create the demo dataset, and serve the FiftyOne App
# with this plugin loaded, on FiftyOne's own bundled database.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

bash scripts/setup.sh

# The App discovers plugins under FIFTYONE_PLUGINS_DIR; link this checkout in.
PLUGINS_DIR=${FIFTYONE_PLUGINS_DIR:-$ROOT/.cache/plugins}
mkdir -p "$PLUGINS_DIR"
ln -sfn "$ROOT" "$PLUGINS_DIR/brain-ts"
export FIFTYONE_PLUGINS_DIR=$PLUGINS_DIR
export FIFTYONE_DATABASE_VALIDATION=false
export FIFTYONE_DO_NOT_TRACK=true
export BRAIN_TS_PYTHON=$ROOT/.venv/bin/python

node lib/scripts/demo.js
# Embed the demo images with the default model (offline), for the embedding-based methods.
node bin/brain-ts.js compute_embeddings --dataset brain-ts-demo --param embeddings_field=embeddings --quiet

PORT=${PORT:-5151}
echo
echo "FiftyOne App with the brain-ts plugin: http://localhost:$PORT/datasets/brain-ts-demo"
echo "(Ctrl-C to stop; delegated runs: FIFTYONE_PLUGINS_DIR=$PLUGINS_DIR .venv/bin/fiftyone delegated launch)"
exec .venv/bin/python .venv/lib/python3.11/site-packages/fiftyone/server/main.py --address 127.0.0.1 --port "$PORT"
