#!/usr/bin/env python3
"""Checks the Grafana dashboard: every PromQL expression parses (promtool), every query uses the
${DS_PROMETHEUS} input rather than a datasource of one installation, and every s1pilot metric of
docs/operations.md's reference appears in some panel.

    dashboard_exprs.py DASHBOARD.json

promtool has no "parse this expression" command, so each expression becomes a recording rule of
a temporary rules file, checked with `promtool check rules`. Grafana's variables are replaced
first: $__rate_interval, $__interval and $__range by 5m (they stand for a range), and template
variables ($playbook, ${console}, ${job:regex}) by .* (they stand inside label regexes).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

# The metrics the daemon exports (docs/operations.md, "Metrics reference"); a panel per concern.
METRICS = [
    "s1pilot_build_info", "s1pilot_ready", "s1pilot_leader", "process_start_time_seconds",
    "s1pilot_runs_total", "s1pilot_actions_total", "s1pilot_action_confirmations_total",
    "s1pilot_ambiguous_outcomes_total", "s1pilot_api_requests_total",
    "s1pilot_api_request_duration_seconds_bucket", "s1pilot_limiter_waits_total",
    "s1pilot_limiter_wait_seconds_total", "s1pilot_limiter_rate", "s1pilot_retries_total",
    "s1pilot_throttled_total", "s1pilot_ledger_rows", "s1pilot_reloads_total",
    "s1pilot_audit_records_total", "s1pilot_webhook_events_total",
    "s1pilot_time_to_contain_seconds_bucket", "s1pilot_playbook_last_success_timestamp_seconds",
    "s1pilot_playbook_interval_seconds", "s1pilot_playbook_held",
]


def walk(node, path="$"):
    """Yields (path, dict) for every mapping in the document."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")


def substitute(expr):
    expr = re.sub(r"\$\{?__(rate_interval|interval|range)\}?", "5m", expr)
    return re.sub(r"\$\{\w+(:\w+)?\}|\$\w+", ".*", expr)


def main():
    dashboard_path = sys.argv[1]
    with open(dashboard_path) as f:
        dashboard = json.load(f)
    problems = []

    inputs = [i.get("name") for i in dashboard.get("__inputs", [])]
    if "DS_PROMETHEUS" not in inputs:
        problems.append("__inputs has no DS_PROMETHEUS datasource input")
    for path, node in walk(dashboard):
        ds = node.get("datasource")
        if isinstance(ds, dict) and ds.get("type") == "prometheus" and ds.get("uid") != "${DS_PROMETHEUS}":
            problems.append(f"{path}.datasource: uid {ds.get('uid')!r}, expected ${{DS_PROMETHEUS}}")

    exprs = [(path, node["expr"]) for path, node in walk(dashboard) if isinstance(node.get("expr"), str)]
    if not exprs:
        problems.append("no expr found: is this the dashboard?")
    all_text = "\n".join(e for _, e in exprs)
    for metric in METRICS:
        if not re.search(rf"\b{metric}\b", all_text):
            problems.append(f"metric {metric} appears in no panel")

    with tempfile.TemporaryDirectory(prefix="s1pilot-dashboard-") as work:
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:expr_{i}", "expr": substitute(e)} for i, (_, e) in enumerate(exprs)]}]}
        rules_path = os.path.join(work, "dashboard-rules.yaml")
        with open(rules_path, "w") as f:
            json.dump(rules, f, indent=1)  # JSON is YAML
        result = subprocess.run(["promtool", "check", "rules", rules_path], capture_output=True, text=True, timeout=60)
        print(result.stdout.replace(rules_path, "dashboard-rules.yaml"), end="")
        if result.returncode != 0:
            # Name the panel of each bad expression: promtool numbers the rules as we did.
            print(result.stderr, end="", file=sys.stderr)
            for i, (path, e) in enumerate(exprs):
                one = {"groups": [{"name": "one", "rules": [{"record": "one", "expr": substitute(e)}]}]}
                with open(rules_path, "w") as f:
                    json.dump(one, f)
                if subprocess.run(["promtool", "check", "rules", rules_path], capture_output=True, timeout=60).returncode:
                    problems.append(f"{path}: promtool rejects {e!r}")

    for p in problems:
        print(f"{dashboard_path}: {p}", file=sys.stderr)
    print(f"{len(exprs)} expressions checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
