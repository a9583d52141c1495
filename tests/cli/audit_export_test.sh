#!/usr/bin/env bash
# Black-box tests of `s1pilot audit export`: logs written by an independent implementation of the
# chain rule in docs/audit.md (Python, standard library), exported by the real binary. Checks the
# exit codes, the events, the refusal of a tampered log, the key file and that no key is printed.
#   tests/cli/audit_export_test.sh BUILD_DIR/s1pilot
set -euo pipefail

bin=$1
source "$(dirname "$0")/common.sh"

# write_log PATH [KEY]: six records of one run over PATH.1 (three) and PATH (three).
write_log() {
    python3 - "$@" <<'PY'
import hashlib, hmac, json, sys

path = sys.argv[1]
key = sys.argv[2].encode() if len(sys.argv) > 2 else None
run = {"run": "r-000001", "playbook": "contain", "playbook_sha256": "ab12", "console": "prod"}
call = {"action": "mitigate:kill", "method": "POST", "path": "/web/api/v2.1/threats/mitigate/kill",
        "batch": "b-1", "threat_ids": ["1001", "1002"]}
records = [
    {"event": "daemon.start", "command": "once", "version": "9.8.7", "dry_run": False},
    {"event": "run.start", **run, "trigger": "once", "mode": "act", "dry_run": False},
    {"event": "action.intent", **run, **call, "attempt": 1, "dry_run": False},
    {"event": "action.result", **run, **call, "outcome": "success", "http_status": 200, "affected": 2,
     "s1_request_id": "rq-1", "attempt": 1, "duration_ms": 84, "dry_run": False},
    {"event": "run.end", **run, "outcome": "success", "dry_run": False},
    {"event": "daemon.stop", "command": "once", "ready": True},
]
prev, files = "0" * 64, [(path + ".1", records[:3]), (path, records[3:])]
seq = 1
for name, chunk in files:
    with open(name, "wb") as f:
        for record in chunk:
            fields = {"seq": seq, "time": f"2026-11-21T09:14:0{seq}.120394Z", **record, "prev": prev}
            body = json.dumps(fields, separators=(",", ":")).encode()
            message = prev.encode() + body
            digest = (hmac.new(key, message, hashlib.sha256) if key else hashlib.sha256(message)).hexdigest()
            f.write(body[:-1] + b',"hash":"' + digest.encode() + b'"}\n')
            prev, seq = digest, seq + 1
PY
}

# check_lines FILE FORMAT COUNT: COUNT JSON lines of FORMAT, in seq order from 1.
check_lines() {
    python3 - "$@" <<'PY' || fail "events in $1 ($2)"
import json, sys
name, form, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(name).read().splitlines()
assert len(lines) == count, f"{len(lines)} lines, want {count}"
for number, line in enumerate(lines, 1):
    event = json.loads(line)
    if form == "ocsf":
        assert event["class_uid"] == 6003 and event["category_uid"] == 6, event
        assert event["metadata"]["sequence"] == number and event["metadata"]["version"] == "1.1.0", event
        assert event["type_uid"] == 600300 + event["activity_id"], event
    else:
        assert event["event"]["kind"] == "event" and event["event"]["sequence"] == number, event
        assert event["ecs"]["version"] == "8.11.0" and event["service"]["name"] == "s1pilot", event
result = json.loads(lines[3])
if form == "ocsf":
    assert result["status_id"] == 1 and result["http_response"]["code"] == 200, result
    assert result["api"] == {"operation": "mitigate:kill", "request": {"uid": "rq-1"}}, result
    assert result["metadata"]["product"]["version"] == "9.8.7", result
else:
    assert result["event"]["outcome"] == "success" and result["event"]["duration"] == 84000000, result
    assert result["s1pilot"]["threat_ids"] == ["1001", "1002"], result
PY
}

# An unkeyed log, files given in any order: every record, in chain order, in both formats.
mkdir "$work/plain"
write_log "$work/plain/audit.jsonl"
for format in ocsf ecs; do
    expect 0 -- "$bin" audit export --format "$format" "$work/plain/audit.jsonl" "$work/plain/audit.jsonl.1"
    check_lines "$work/out" "$format" 6
    grep -qxF "audit export: ok: 6 record(s) (seq 1-6) from 2 file(s) as $format to standard output" "$work/err" ||
        fail "summary: $(cat "$work/err")"
done

# --output writes the same lines to a file only the owner and group can read.
expect 0 -- "$bin" audit export --format ocsf --output "$work/events.jsonl" "$work/plain"/audit.jsonl*
check_lines "$work/events.jsonl" ocsf 6
[[ ! -s "$work/out" ]] || fail "--output also wrote to stdout"
[[ $(stat -c %a "$work/events.jsonl") == 640 ]] || fail "mode $(stat -c %a "$work/events.jsonl"), want 640"

# An output that is one of the logs is refused and the log left whole.
cp "$work/plain/audit.jsonl" "$work/before"
expect 2 -- "$bin" audit export --format ecs -o "$work/plain/audit.jsonl" "$work/plain"/audit.jsonl*
cmp -s "$work/before" "$work/plain/audit.jsonl" || fail "the log was overwritten by its export"

# A tampered record: the records before it are exported, nothing from it on; exit 1; where it is.
cp -r "$work/plain" "$work/tampered"
sed -i '1s/"affected":2/"affected":9/' "$work/tampered/audit.jsonl"
! cmp -s "$work/tampered/audit.jsonl" "$work/plain/audit.jsonl" || fail "the record was not altered"
expect 1 -- "$bin" audit export --format ocsf "$work/tampered"/audit.jsonl*
[[ $(wc -l <"$work/out") == 3 ]] || fail "tampered: $(wc -l <"$work/out") events, want 3 (seq 1-3)"
grep -qxF "$work/tampered/audit.jsonl:1: seq 4: hash mismatch (record altered)" "$work/err" ||
    fail "tampered: $(cat "$work/err")"
grep -qxF "audit export: FAILED: the chain is broken; 3 record(s) exported before the break (seq 1-3), nothing from $work/tampered/audit.jsonl:1 (seq 4) on" \
    "$work/err" || fail "tampered summary: $(cat "$work/err")"

# A keyed log: exported with --key-file (one trailing newline ignored), refused without it or with
# another key; no key is ever printed.
mkdir "$work/keyed"
new_canary "$work/key"
new_canary "$work/wrong"
write_log "$work/keyed/audit.jsonl" "$(head -n1 "$work/key")"
expect 0 -- "$bin" audit export --format ecs --key-file "$work/key" "$work/keyed"/audit.jsonl*
check_lines "$work/out" ecs 6
for key in none "$work/wrong"; do
    args=()
    [[ $key == none ]] || args=(--key-file "$key")
    expect 1 -- "$bin" audit export --format ocsf "${args[@]}" "$work/keyed"/audit.jsonl*
    [[ ! -s "$work/out" ]] || fail "a keyed log was exported with key $key"
    grep -qF "0 record(s) exported before the break" "$work/err" || fail "keyed, $key: $(cat "$work/err")"
done

# Usage errors are 2.
expect 2 -- "$bin" audit export --format xml "$work/plain/audit.jsonl"
expect 2 -- "$bin" audit export "$work/plain/audit.jsonl"
expect 2 -- "$bin" audit export --format ocsf
expect 0 -- "$bin" audit export --help

finish "audit export"
