#!/usr/bin/env bash
# azd preprovision: what the Bicep needs before it runs (README "Deploy to Azure", step 1) — the
# deployer may assign roles, a PAT vault uses Azure RBAC, and the Databricks job exists, its id in
# DATABRICKS_JOB_ID for infra/main.bicepparam.
set -euo pipefail
cd "${BASH_SOURCE[0]%/*}/../.."

fail() {
  printf 'preprovision: %s\n' "$1" >&2
  exit 1
}

for tool in az azd databricks jq npm; do
  command -v "$tool" >/dev/null || fail "$tool is not on PATH (README \"Deploy to Azure\" lists what to install)"
done
[[ -n ${DATABRICKS_HOST:-} ]] ||
  fail 'no workspace URL: azd env set DATABRICKS_HOST https://adb-<id>.<n>.azuredatabricks.net'

subscription=${AZURE_SUBSCRIPTION_ID:-}
if [[ -z $subscription ]]; then
  subscription=$(az account show --query id -o tsv)
fi

# The signed-in az identity's object id: a user, or a service principal (CI).
signed_in_object_id() {
  local kind name
  kind=$(az account show --query user.type -o tsv) || return 1
  if [[ $kind == user ]]; then
    az ad signed-in-user show --query id -o tsv
  else
    name=$(az account show --query user.name -o tsv) || return 1
    az ad sp show --id "$name" --query id -o tsv
  fi
}

# The Bicep assigns roles (the app's identity, Capture's, Event Grid's, the Access Connector's):
# Microsoft.Authorization/roleAssignments/write, which these three built-in roles carry. A custom
# role, a PIM-eligible one or a login without Graph access can fail the check wrongly: set
# ORDERS_SKIP_ROLE_CHECK=true to skip it (the deployment then fails on the first assignment instead).
if [[ ${ORDERS_SKIP_ROLE_CHECK:-} != true ]]; then
  assignee=$(signed_in_object_id)
  scope="/subscriptions/$subscription"
  if [[ -n ${AZURE_RESOURCE_GROUP:-} ]] &&
    [[ $(az group exists -n "$AZURE_RESOURCE_GROUP" --subscription "$subscription") == true ]]; then
    scope="$scope/resourceGroups/$AZURE_RESOURCE_GROUP"
  fi
  allowed=$(az role assignment list --assignee "$assignee" --scope "$scope" --include-inherited --include-groups \
    --subscription "$subscription" -o json |
    jq -r '[.[] | select(.roleDefinitionName == "Owner" or .roleDefinitionName == "User Access Administrator"
      or .roleDefinitionName == "Role Based Access Control Administrator")] | length')
  [[ $allowed != 0 ]] ||
    fail "you cannot assign roles at $scope, which the Bicep does: ask for Owner, User Access Administrator or Role Based Access Control Administrator there"
fi

# The app reads the PAT fallback through a Key Vault reference with Key Vault Secrets User, a role
# that an access-policy vault ignores.
if [[ -n ${KEY_VAULT_NAME:-} ]]; then
  rbac=$(az keyvault show --name "$KEY_VAULT_NAME" --subscription "$subscription" \
    --query properties.enableRbacAuthorization -o json)
  [[ $rbac == true ]] ||
    fail "Key Vault $KEY_VAULT_NAME uses access policies; the app's role needs Azure RBAC: az keyvault update --name $KEY_VAULT_NAME --enable-rbac-authorization true"
fi

# The CLI floor the bundle declares (bundle.databricks_cli_version), 0.252.0 if it declares none.
bundle_cli_floor() {
  local line re='^[[:space:]]*databricks_cli_version:[^0-9]*([0-9]+\.[0-9]+\.[0-9]+)'
  while IFS= read -r line; do
    if [[ $line =~ $re ]]; then
      printf '%s\n' "${BASH_REMATCH[1]}"
      return 0
    fi
  done <infra/databricks/databricks.yml
  printf '%s\n' 0.252.0
}

# Whether version $1 (major.minor.patch) is at least $2.
version_at_least() {
  local a1 a2 a3 b1 b2 b3
  IFS=. read -r a1 a2 a3 <<<"$1"
  IFS=. read -r b1 b2 b3 <<<"$2"
  ((a1 > b1 || (a1 == b1 && (a2 > b2 || (a2 == b2 && a3 >= b3)))))
}

floor=$(bundle_cli_floor)
cli_version=$(databricks version -o json | jq -r '"\(.Major).\(.Minor).\(.Patch)"')
version_at_least "$cli_version" "$floor" ||
  fail "Databricks CLI $cli_version is older than the bundle's floor $floor: https://docs.databricks.com/dev-tools/cli/install"

# The catalog and schema are main.bicepparam's (outputs once provisioned; the same defaults before).
catalog=${databricksCatalog:-main}
schema=${databricksSchema:-orders}
cd infra/databricks
databricks bundle deploy -t prod --var "catalog=$catalog" --var "schema=$schema"

# The setup job (schema and tables, idempotent) runs once per workspace, catalog and schema.
target="$DATABRICKS_HOST/$catalog.$schema"
if [[ ${DATABRICKS_SETUP_DONE_FOR:-} != "$target" ]]; then
  databricks bundle run -t prod --var "catalog=$catalog" --var "schema=$schema" orders_lakehouse_setup
  azd env set DATABRICKS_SETUP_DONE_FOR "$target"
fi

# The job's id from the bundle's own state (the jobs list could name another job orders-lakehouse).
job_id=$(databricks bundle summary -t prod --var "catalog=$catalog" --var "schema=$schema" -o json |
  jq -r '.resources.jobs.orders_lakehouse.id // empty')
[[ $job_id =~ ^[0-9]+$ ]] || fail "databricks bundle summary gave no id for orders_lakehouse (got \"$job_id\")"
azd env set DATABRICKS_JOB_ID "$job_id"
printf 'preprovision: job orders_lakehouse is %s; DATABRICKS_JOB_ID set for the Bicep\n' "$job_id"

# The first provision creates the namespace's role on the capture container and Capture together,
# and Capture is refused until the role applies: that provision deploys Capture off and postprovision
# turns it on with retries. Later provisions (the namespace exists: its output is here) keep it on.
if [[ -z ${CAPTURE_ENABLED:-} ]]; then
  if [[ -z ${eventHubNamespace:-} ]]; then
    azd env set CAPTURE_ENABLED false
  else
    azd env set CAPTURE_ENABLED true
  fi
fi
