#!/usr/bin/env bash
# azd prepackage (service functions): the package of the guide's step 4 — `npm run package` writes
# dist/app.zip (a trimmed package.json, no Azurite or DuckDB) — expanded into dist/app, the folder
# azure.yaml's `dist:` names, which azd zips and publishes with a remote build.
set -euo pipefail
cd "${BASH_SOURCE[0]%/*}/../.."

command -v unzip >/dev/null || {
  printf 'prepackage: unzip is not on PATH (it expands dist/app.zip for azd)\n' >&2
  exit 1
}
npm run package
rm -rf dist/app
mkdir -p dist/app
unzip -q -o dist/app.zip -d dist/app
