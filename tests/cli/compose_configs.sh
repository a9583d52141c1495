#!/usr/bin/env bash
# `s1pilot validate` on every s1pilot configuration under docker/, with the container's paths
# (the shared CA, the playbooks, the log directory) mapped into a temporary directory and the
# secrets they take from the environment set to placeholders. Fails on the first one refused.
set -euo pipefail
s1pilot=$1 source=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
touch "$work/s1sim-ca.pem"
export S1SIM_TOKEN=placeholder-console-token S1PILOT_ADMIN_TOKEN=placeholder-admin-token \
       S1PILOT_DB_PASSWORD=placeholder-db-password
count=0
for config in "$source"/docker/s1pilot-*.yaml; do
  name=$(basename "$config")
  sed -e "s#/shared/s1sim-ca.pem#$work/s1sim-ca.pem#" \
      -e "s#/etc/s1pilot/playbooks#$source/config/playbooks#" \
      -e "s#/var/log/s1pilot#$work/log-$name#" \
      -e "s#/var/lib/s1pilot#$work/state-$name#" "$config" > "$work/$name"
  mkdir -p "$work/log-$name" "$work/state-$name"
  if ! out=$("$s1pilot" validate -c "$work/$name" 2>&1); then
    printf '%s is refused:\n%s\n' "docker/$name" "$out" >&2
    exit 1
  fi
  echo "docker/$name: $out"
  count=$((count + 1))
done
[ "$count" -ge 3 ] || { echo "expected at least 3 configurations under docker/, found $count" >&2; exit 1; }
