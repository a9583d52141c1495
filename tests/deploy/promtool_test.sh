#!/usr/bin/env bash
# The monitoring files under deploy/ checked with promtool (Debian package prometheus):
#   tests/deploy/promtool_test.sh check-rules|test-rules|dashboard SOURCE_DIR
# check-rules: the alerting rules parse; test-rules: their unit tests (every alert fires and
# stays quiet when it should); dashboard: every PromQL expression of the Grafana dashboard parses.
# Exit 77 (ctest SKIP_RETURN_CODE) only when promtool is missing and cannot be installed.
set -euo pipefail

mode=$1
src=$2

if ! command -v promtool >/dev/null; then
    "$src/scripts/deps" >&2 || true
fi
if ! command -v promtool >/dev/null; then
    echo "SKIP: promtool is not installed and scripts/deps could not install it (package prometheus; needs root and apt)" >&2
    exit 77
fi

case $mode in
    check-rules) promtool check rules "$src/deploy/prometheus/s1pilot-rules.yaml" ;;
    # Run from the rules' folder: the test file names them relative to itself.
    test-rules) cd "$src/deploy/prometheus" && promtool test rules s1pilot-rules.test.yaml ;;
    dashboard) python3 "$src/tests/deploy/dashboard_exprs.py" "$src/deploy/grafana/s1pilot.json" ;;
    *) echo "usage: $0 check-rules|test-rules|dashboard SOURCE_DIR" >&2; exit 2 ;;
esac
