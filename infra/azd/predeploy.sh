#!/usr/bin/env bash
# azd predeploy (service functions): the first publish to a new app can get 403 while the app
# identity's new role on its deployment container propagates, and azd does not retry its own
# publish; so the first time, the same package is published here with retries (the guide's step 4).
set -euo pipefail
cd "${BASH_SOURCE[0]%/*}/../.."
source infra/azd/retry.sh

: "${functionAppName:?no functionAppName output: run azd provision}"

# An app that lists functions has had a successful publish: then azd's own publish is enough.
functions=$(az functionapp function list -g "$AZURE_RESOURCE_GROUP" -n "$functionAppName" \
  --subscription "$AZURE_SUBSCRIPTION_ID" --query 'length(@)' -o tsv 2>/dev/null || printf '0')
if [[ $functions == 0 ]]; then
  [[ -f dist/app.zip ]] || {
    printf 'predeploy: no dist/app.zip (the prepackage hook writes it: npm run package)\n' >&2
    exit 1
  }
  retry 6 30 az functionapp deployment source config-zip -g "$AZURE_RESOURCE_GROUP" -n "$functionAppName" \
    --subscription "$AZURE_SUBSCRIPTION_ID" --src dist/app.zip --build-remote true -o none
fi
