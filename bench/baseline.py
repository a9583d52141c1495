#!/usr/bin/env python3
"""The script a SOC engineer would write instead of s1pilot: the benchmarks' baseline.

Plain, sequential Python with `requests`, as it would be written in an afternoon: list the
matching threats page by page with cursors, keep their ids, then post the actions in batches of
100 ids, waiting out a 429 for as long as the console's Retry-After asks. No ledger, no audit, no
concurrency. It prints one JSON line: the requests it sent, the 429s it met and the threats it
acted on. PERFORMANCE.md (B1, B2, B6) compares s1pilot with it, side by side in the same run.

    S1_API_TOKEN=... baseline.py --url https://127.0.0.1:40123 --ca ca.pem \
        --match 'siteIds=1364475734565842019&classifications=Ransomware'
"""

import argparse
import json
import os
import sys
import time
import urllib.parse

import requests

API = "/web/api/v2.1"
# The filter keys that scope an action; the console needs them beside the ids (DESIGN §4).
SCOPE_KEYS = ("agentIds", "accountIds", "siteIds", "groupIds")
# What the playbook under test does: kill, then open the incident as a true positive.
ACTIONS = (
    ("/threats/mitigate/kill", {}),
    ("/threats/incident", {"incidentStatus": "in_progress", "analystVerdict": "true_positive"}),
)


class Console:
    """A keep-alive session that counts what it sends, and waits out 429s."""

    def __init__(self, url, token, ca_file, timeout):
        self.url = url.rstrip("/") + API
        self.session = requests.Session()
        self.session.headers["Authorization"] = "ApiToken " + token
        # Passed with every request: requests lets REQUESTS_CA_BUNDLE in the environment win over
        # a Session's own `verify`, and many hosts set it.
        self.verify = ca_file
        self.timeout = timeout
        self.gets = self.posts = self.rate_limited = 0

    def send(self, method, path, **kwargs):
        while True:
            if method == "GET":
                self.gets += 1
            else:
                self.posts += 1
            response = self.session.request(method, self.url + path, timeout=self.timeout, verify=self.verify,
                                            **kwargs)
            if response.status_code != 429:
                response.raise_for_status()
                return response.json()
            self.rate_limited += 1
            time.sleep(retry_after_seconds(response))


def retry_after_seconds(response):
    # The console sends whole seconds; an HTTP-date or nothing falls back to one second, which
    # is what a quick script does rather than parse dates.
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def resolve(console, match):
    """The ids of the matching threats, oldest first, following the cursors to the end."""
    params = dict(match, limit=1000, sortBy="createdAt", sortOrder="asc")
    ids = []
    while True:
        page = console.send("GET", "/threats", params=params)
        ids.extend(threat["id"] for threat in page["data"])
        cursor = page["pagination"]["nextCursor"]
        if cursor is None:
            break
        params["cursor"] = cursor
    return ids


def scope_of(match):
    # Lists are comma-separated in a query and JSON arrays in an action's filter.
    return {key: match[key].split(",") for key in SCOPE_KEYS if key in match}


def act(console, ids, scope, batch_size):
    for path, data in ACTIONS:
        for start in range(0, len(ids), batch_size):
            batch = ids[start:start + batch_size]
            console.send("POST", path, json={"filter": dict(scope, ids=batch), "data": data})


def main():
    parser = argparse.ArgumentParser(description="Resolve a match and act on it, the plain way.")
    parser.add_argument("--url", required=True, help="the console, https://HOST[:PORT]")
    parser.add_argument("--token-env", default="S1_API_TOKEN",
                        help="environment variable holding the API token (not an argument: argv is public)")
    parser.add_argument("--ca", help="CA bundle (PEM) to trust; default: the system's")
    parser.add_argument("--match", required=True, help="GET /threats query parameters, e.g. 'siteIds=1,2&classifications=Malware'")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--max-threats", type=int, help="act on the oldest N matches only")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per request")
    args = parser.parse_args()

    token = os.environ.get(args.token_env)
    if not token:
        sys.exit(f"baseline: set the API token in ${args.token_env}")
    # parse_qsl decodes the values once; requests encodes them again when it sends them.
    match = dict(urllib.parse.parse_qsl(args.match, strict_parsing=True))
    console = Console(args.url, token, args.ca if args.ca else True, args.timeout)

    started = time.monotonic()
    matched = resolve(console, match)
    resolved = time.monotonic()
    # A cap keeps the oldest, as s1pilot's `on_exceed: first` does, so both act on the same set.
    ids = matched if args.max_threats is None else matched[:args.max_threats]
    act(console, ids, scope_of(match), args.batch_size)

    print(json.dumps({
        "matched": len(matched), "acted_on": len(ids), "gets": console.gets, "posts": console.posts,
        "429s": console.rate_limited, "resolve_s": round(resolved - started, 3),
        "act_s": round(time.monotonic() - resolved, 3),
    }))


if __name__ == "__main__":
    main()
