#!/usr/bin/env bash
# Fails unless `systemd-analyze security --offline=yes UNIT` rates the unit at or below LIMIT.
set -euo pipefail
analyze=$1 unit=$2 limit=$3
out=$("$analyze" security --offline=yes "$unit" 2>&1) || true
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -z "$score" ]; then
  printf 'systemd-analyze gave no exposure score for %s:\n%s\n' "$unit" "$out" >&2
  exit 1
fi
echo "exposure of $(basename "$unit"): $score (limit $limit)"
awk -v s="$score" -v l="$limit" 'BEGIN { exit !(s <= l) }'
