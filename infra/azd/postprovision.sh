#!/usr/bin/env bash
# azd postprovision: Unity Catalog reads the capture and manifests containers through the Access
# Connector (README "Deploy to Azure", step 3); created only if missing, and remembered for predown.
set -euo pipefail
cd "${BASH_SOURCE[0]%/*}/../.."
source infra/azd/retry.sh

: "${accessConnectorId:?no accessConnectorId output: run azd provision}"
: "${captureUrl:?no captureUrl output: run azd provision}"
: "${manifestUrl:?no manifestUrl output: run azd provision}"

# Names from the environment's (letters, digits, underscores): orders → orders_capture, as in the guide.
prefix=${AZURE_ENV_NAME//[^A-Za-z0-9]/_}
credential="${prefix}_capture"
created=${ORDERS_CREATED_IN_DATABRICKS:-}

# Whether `databricks $1 list` names $2 (Unity Catalog names are case-insensitive).
uc_has() {
  databricks "$1" list -o json |
    jq -e --arg name "$2" '[.[]? | select((.name | ascii_downcase) == ($name | ascii_downcase))] | length > 0' \
      >/dev/null
}

# What this hook created, for predown to delete (never what existed before).
remember() {
  created="${created:+$created }$1"
  azd env set ORDERS_CREATED_IN_DATABRICKS "$created"
}

ensure_credential() {
  uc_has storage-credentials "$credential" && return 0
  databricks storage-credentials create -o json --json "$(jq -n --arg name "$credential" \
    --arg connector "$accessConnectorId" \
    '{name: $name, read_only: true, azure_managed_identity: {access_connector_id: $connector},
      comment: "orders-pipeline: Capture files and manifests, through the Access Connector (azd)"}')" \
    >/dev/null || return 1
  remember "storage-credentials:$credential"
}

# Creating a location validates the credential against the container: the Access Connector's new
# Storage Blob Data Reader role may take minutes to apply, hence the retries.
ensure_location() {
  uc_has external-locations "$1" && return 0
  databricks external-locations create "$1" "$2" "$credential" --read-only -o json \
    --comment 'orders-pipeline (azd), read only' >/dev/null || return 1
  remember "external-locations:$1"
}

# Capture, deployed off by the first provision (preprovision says why), on now that its role had time.
if [[ ${CAPTURE_ENABLED:-true} != true ]]; then
  export CAPTURE_ENABLED=true
  retry 6 30 az deployment group create -g "$AZURE_RESOURCE_GROUP" --subscription "$AZURE_SUBSCRIPTION_ID" \
    -n "${AZURE_ENV_NAME}-capture" -f infra/main.bicep -p infra/main.bicepparam -o none
  azd env set CAPTURE_ENABLED true
  printf 'postprovision: Event Hubs Capture is on\n'
fi

retry 5 15 ensure_credential
retry 7 20 ensure_location "${prefix}_capture" "$captureUrl"
retry 7 20 ensure_location "${prefix}_manifests" "$manifestUrl"
printf 'postprovision: storage credential %s and external locations %s_capture, %s_manifests are in place\n' \
  "$credential" "$prefix" "$prefix"
