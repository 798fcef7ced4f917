#!/usr/bin/env bash
# azd postdeploy: the second stage once the app is published (README "Deploy to Azure", steps 5-7)
# — the Event Grid subscription to the capture trigger's webhook, the app identity's grants in the
# workspace, then the smoke test through the app's API.
set -euo pipefail
cd "${BASH_SOURCE[0]%/*}/../.."
source infra/azd/retry.sh

: "${functionAppName:?no functionAppName output: run azd provision}"
: "${functionAppUrl:?no functionAppUrl output: run azd provision}"
: "${functionAppPrincipalId:?no functionAppPrincipalId output: run azd provision}"
: "${databricksCatalog:?no databricksCatalog output: run azd provision}"
: "${databricksSchema:?no databricksSchema output: run azd provision}"
: "${DATABRICKS_JOB_ID:?no DATABRICKS_JOB_ID: the preprovision hook sets it}"
group=$AZURE_RESOURCE_GROUP
subscription=$AZURE_SUBSCRIPTION_ID

# Step 6. The webhook URL carries the blobs_extension system key, which exists once the host has
# loaded the blob trigger: wait for it (without printing it), then deploy the Bicep again with the
# subscription; Event Grid validates the endpoint on creation, which a cold app may fail at first.
blobs_key_ready() {
  local key
  key=$(az functionapp keys list -g "$group" -n "$functionAppName" --subscription "$subscription" \
    --query systemKeys.blobs_extension -o tsv) || return 1
  [[ -n $key ]]
}
retry 8 15 blobs_key_ready
# Only this deployment: later `azd provision` runs leave the subscription in place (incremental mode).
export CREATE_EVENT_GRID_SUBSCRIPTION=true CAPTURE_ENABLED=true
retry 6 30 az deployment group create -g "$group" --subscription "$subscription" -n "${AZURE_ENV_NAME}-event-grid" \
  -f infra/main.bicep -p infra/main.bicepparam -o none

# Step 5. The app's identity in the workspace: a service principal that may run the job, use the SQL
# warehouse and read gold. Every call below adds (PATCH), so running it again changes nothing.
app_id=$(az ad sp show --id "$functionAppPrincipalId" --query appId -o tsv)
sp_id=$(databricks service-principals list -o json |
  jq -r --arg app "$app_id" '[.[]? | select(.applicationId == $app)][0].id // empty')
if [[ -z $sp_id ]]; then
  sp_id=$(databricks service-principals create --application-id "$app_id" \
    --display-name "orders-pipeline-functions-$AZURE_ENV_NAME" -o json | jq -r .id)
  azd env set ORDERS_CREATED_IN_DATABRICKS \
    "${ORDERS_CREATED_IN_DATABRICKS:+$ORDERS_CREATED_IN_DATABRICKS }service-principals:$sp_id"
fi

acl() {
  jq -n --arg sp "$app_id" --arg level "$1" \
    '{access_control_list: [{service_principal_name: $sp, permission_level: $level}]}'
}
grant() {
  jq -n --arg sp "$app_id" '{changes: [{principal: $sp, add: $ARGS.positional}]}' --args "$@"
}
# A principal just added to the workspace can take a moment to be known to Unity Catalog.
retry 4 10 databricks jobs update-permissions "$DATABRICKS_JOB_ID" --json "$(acl CAN_MANAGE_RUN)" >/dev/null
if [[ -n ${DATABRICKS_SQL_HTTP_PATH:-} ]]; then
  retry 4 10 databricks warehouses update-permissions "${DATABRICKS_SQL_HTTP_PATH##*/}" \
    --json "$(acl CAN_USE)" >/dev/null
fi
retry 4 10 databricks grants update catalog "$databricksCatalog" --json "$(grant USE_CATALOG)" >/dev/null
retry 4 10 databricks grants update schema "$databricksCatalog.$databricksSchema" \
  --json "$(grant USE_SCHEMA SELECT)" >/dev/null
printf 'postdeploy: %s may run job %s and read %s.%s\n' "$app_id" "$DATABRICKS_JOB_ID" \
  "$databricksCatalog" "$databricksSchema"

# Step 7. End to end through the app's API: publish, record, process, read gold (≈ 10 min).
key=$(az functionapp keys list -g "$group" -n "$functionAppName" --subscription "$subscription" \
  --query functionKeys.default -o tsv)
npx orders-pipeline smoke "$functionAppUrl" --key "$key"
