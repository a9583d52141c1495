#!/usr/bin/env bash
# Black-box tests of `s1pilot validate | schema | version`: exit codes (DESIGN §7) and output.
#   tests/cli/cli_test.sh BUILD_DIR/s1pilot SOURCE_DIR
set -euo pipefail

bin=$1
src=$2
source "$(dirname "$0")/common.sh"

# version
expect 0 -- "$bin" version
grep -qx 's1pilot [0-9][0-9.]*' "$work/out" || fail "version prints: $(cat "$work/out")"

# usage errors are 2; --help is 0 on every subcommand
expect 2 -- "$bin"
expect 2 -- "$bin" validate --no-such-option
expect 2 -- "$bin" no-such-command
for command in validate schema version; do
    expect 0 -- "$bin" "$command" --help
    grep -q "Usage" "$work/out" || fail "$command --help prints no usage"
done

# every shipped playbook is valid
expect 0 -- "$bin" validate "$src"/config/playbooks/*.yaml
grep -qx 'ok: 4 playbooks valid, 0 warnings' "$work/out" || fail "summary: $(cat "$work/out")"
[[ ! -s "$work/err" ]] || fail "valid playbooks printed diagnostics: $(cat "$work/err")"

# one broken file among valid ones: exit 3, and only its problems are named
mkdir "$work/playbooks"
cp "$src"/config/playbooks/*.yaml "$work/playbooks/"
cp "$src"/tests/data/config/invalid/misspelt-match-key.yaml "$work/playbooks/broken.yaml"
expect 3 -- "$bin" validate "$work"/playbooks/*.yaml
grep -qx "invalid: 1 error, 0 warnings in 1 file" "$work/out" || fail "summary: $(cat "$work/out")"
[[ $(wc -l <"$work/err") == 1 ]] || fail "expected one diagnostic, got: $(cat "$work/err")"
grep -qx "$work/playbooks/broken.yaml:4:3: unknown key \"clasifications\" in match; did you mean \"classifications\"?" \
    "$work/err" || fail "diagnostic: $(cat "$work/err")"

# a wait that is not a duration is a usage error, named before anything is loaded
expect 2 -- "$bin" once -c "$work/no-such-config.yaml" --confirm-wait soon
grep -qxF "s1pilot: --confirm-wait: expected a duration such as 30s or 5m, got 'soon'" "$work/err" ||
    fail "confirm-wait diagnostic: $(cat "$work/err")"

# a comma inside a list item would reach the console as a separator: refused where it stands
comma="$src/tests/data/config/invalid/comma-in-list-value.yaml"
expect 3 -- "$bin" validate "$comma"
grep -qF "$comma:4:36: commandLineArguments__contains: \"-enc,JAB\" contains a comma, which the console reads as a list separator" \
    "$work/err" || fail "comma diagnostic: $(cat "$work/err")"
[[ $(wc -l <"$work/err") == 2 ]] || fail "expected two comma diagnostics, got: $(cat "$work/err")"

# a directory argument stands for its playbooks
expect 3 -- "$bin" validate "$work/playbooks"

# a configuration whose token file is unsafe: exit 3 and a message that says what to do
mkdir "$work/etc"
new_canary "$work/etc/token"
chmod 644 "$work/etc/token"
cat >"$work/etc/s1pilot.yaml" <<YAML
consoles:
  prod:
    url: https://usea1-acme.sentinelone.net
    token: {file: token}
playbooks: $src/config/playbooks
state: ./state.db
YAML
expect 3 -- "$bin" validate -c "$work/etc/s1pilot.yaml"
grep -q "consoles.prod.token: file $work/etc/token is readable or writable by group or others (mode 0644): run chmod 600 $work/etc/token" \
    "$work/err" || fail "unsafe token message: $(cat "$work/err")"

chmod 600 "$work/etc/token"
expect 0 -- "$bin" validate -c "$work/etc/s1pilot.yaml"
grep -qx 'ok: configuration and 4 playbooks valid, 0 warnings' "$work/out" || fail "summary: $(cat "$work/out")"
# the same through S1PILOT_CONFIG
expect 0 -- env S1PILOT_CONFIG="$work/etc/s1pilot.yaml" "$bin" validate

rm "$work/etc/token"
expect 3 -- "$bin" validate -c "$work/etc/s1pilot.yaml"
grep -q "consoles.prod.token: file $work/etc/token does not exist" "$work/err" || fail "missing token: $(cat "$work/err")"

# a missing configuration is invalid, not a crash
expect 3 -- "$bin" validate -c "$work/none.yaml"

# the schema is valid JSON Schema and accepts every example, rejects broken ones
expect 0 -- "$bin" schema
python3 "$src/tests/cli/validate_schema.py" "$work/out" "$src" || fail "schema validation"

finish cli
