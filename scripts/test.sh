#!/usr/bin/env bash
# The whole suite: unit, integration (FiftyOne's real database and fiftyone-brain) and
# browser tests (the real App in Debian's Chromium). Screenshots land in test-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
npx tsc -p tsconfig.json --noEmit

mkdir -p test-artifacts
rm -f test-artifacts/jest.json
status=0
npx jest --ci --runInBand --forceExit --json --outputFile=test-artifacts/jest.json "$@" || status=$?
[ -f test-artifacts/jest.json ] || { echo "jest wrote no results"; exit 1; }
node -e '
const r = require("./test-artifacts/jest.json");
console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
if (r.numTotalTests === 0) { console.error("no tests ran"); process.exit(1); }
' || status=1
exit $status
