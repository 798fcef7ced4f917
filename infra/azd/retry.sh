#!/usr/bin/env bash
# Sourced by the azd hooks: Azure and Databricks settle a moment after a change (a new role
# assignment, the blobs_extension key, Event Grid's endpoint validation), so those steps are retried.
set -euo pipefail

# retry <attempts> <first-delay-seconds> cmd …: runs cmd until it succeeds, at most <attempts> times,
# waiting <first-delay-seconds> after the first failure and twice as long after each next one (at
# most 300 s). cmd runs as an `if` condition, where bash ignores `set -e`: a function given to retry
# must return non-zero itself when a step fails (chain its steps with && or `|| return 1`).
retry() {
  local attempts=$1 delay=$2 attempt=1
  shift 2
  while true; do
    if "$@"; then
      return 0
    fi
    if ((attempt >= attempts)); then
      printf 'retry: gave up after %d attempts: %s\n' "$attempts" "$(retry_describe "$@")" >&2
      return 1
    fi
    printf 'retry: attempt %d of %d failed: %s; waiting %d s (propagation) before the next\n' \
      "$attempt" "$attempts" "$(retry_describe "$@")" "$delay" >&2
    sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2 > 300 ? 300 : delay * 2))
  done
}

# The command as words, the value after a secret-bearing flag (--key, --password, --token) hidden.
retry_describe() {
  local word hide=false out=''
  for word in "$@"; do
    if [[ $hide == true ]]; then
      out="$out ***"
      hide=false
    else
      out="$out $word"
    fi
    if [[ $word == --key || $word == --password || $word == --token ]]; then
      hide=true
    fi
  done
  printf '%s\n' "${out# }"
}
