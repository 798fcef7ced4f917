#!/usr/bin/env bash
# azd predown: what lives outside the resource group goes first — the bundle's jobs, and the Unity
# Catalog objects and workspace service principal that the hooks created (none that existed before);
# azd down then deletes the resource group. The lakehouse schema and its tables (data) stay.
set -euo pipefail
cd "${BASH_SOURCE[0]%/*}/../.."

[[ -n ${DATABRICKS_HOST:-} ]] || {
  printf 'predown: no DATABRICKS_HOST in this environment: the bundle cannot be destroyed\n' >&2
  exit 1
}
# azd down deletes the whole resource group. The PAT fallback's vault must sit in it (the Bicep
# references it there), and it is yours, not the template's: stop unless told to delete it too.
if [[ -n ${keyVaultName:-} && ${ORDERS_DOWN_FORCE:-} != true ]]; then
  printf 'predown: azd down would delete the resource group %s with your Key Vault %s in it;\n' \
    "${resourceGroupName:-?}" "$keyVaultName" >&2
  printf 'predown: move the vault first, or run azd env set ORDERS_DOWN_FORCE true and azd down again\n' >&2
  exit 1
fi
catalog=${databricksCatalog:-main}
schema=${databricksSchema:-orders}
(cd infra/databricks &&
  databricks bundle destroy -t prod --auto-approve --var "catalog=$catalog" --var "schema=$schema")

# Whether `databricks $1 list` names $2 (Unity Catalog names are case-insensitive).
uc_has() {
  databricks "$1" list -o json |
    jq -e --arg name "$2" '[.[]? | select((.name | ascii_downcase) == ($name | ascii_downcase))] | length > 0' \
      >/dev/null
}

# Locations before the credential they use; each only if it is still there.
created=${ORDERS_CREATED_IN_DATABRICKS:-}
for kind in external-locations storage-credentials service-principals; do
  for item in $created; do
    [[ ${item%%:*} == "$kind" ]] || continue
    name=${item#*:}
    if [[ $kind == service-principals ]]; then
      databricks service-principals delete "$name" ||
        printf 'predown: could not delete service principal %s (gone already?)\n' "$name" >&2
    elif uc_has "$kind" "$name"; then
      databricks "$kind" delete "$name"
      printf 'predown: deleted %s %s\n' "$kind" "$name"
    fi
  done
done
azd env set ORDERS_CREATED_IN_DATABRICKS ''
azd env set DATABRICKS_SETUP_DONE_FOR ''
