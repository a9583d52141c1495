# Shared by the shell black-box tests of tests/cli (sourced, after `set -euo pipefail`): a work
# directory removed on exit, failures counted, commands run with their outputs kept, and the secret
# canary (RELIABILITY #13). Every secret a test gives s1pilot is a fresh `CANARY-<uuid>` made by
# new_canary; whatever a command prints, and every file left in $work but the secrets' own, is
# checked for each of them.

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset S1PILOT_CONFIG
failures=0
canaries=()
secret_files=()

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# new_canary FILE: writes a fresh canary (and a newline) to FILE, mode 0600, and remembers both.
new_canary() {
    local value
    value="CANARY-$(cat /proc/sys/kernel/random/uuid)"
    (umask 077 && printf '%s\n' "$value" >"$1")
    canaries+=("$value")
    secret_files+=("$1")
}

# check_no_canary FILE...: fails for each canary any of the files holds.
check_no_canary() {
    local canary
    for canary in "${canaries[@]}"; do
        if grep -lF -- "$canary" "$@" >/dev/null 2>&1; then
            fail "a secret appears in $(grep -lF -- "$canary" "$@" | tr '\n' ' ')"
        fi
    done
}

# expect CODE -- COMMAND...: runs COMMAND, keeps stdout/stderr in $work/out and $work/err, and
# checks both for the canaries.
expect() {
    local want=$1
    shift 2
    local got=0
    "$@" >"$work/out" 2>"$work/err" || got=$?
    if [[ $got != "$want" ]]; then
        fail "exit $got, want $want: $*"
        sed 's/^/  stdout: /' "$work/out" >&2
        sed 's/^/  stderr: /' "$work/err" >&2
    fi
    check_no_canary "$work/out" "$work/err"
}

# finish NAME: scans every file left in $work (but the secrets' own) for the canaries, then
# reports and exits.
finish() {
    local file secret skip left=()
    while IFS= read -r -d '' file; do
        skip=0
        for secret in "${secret_files[@]}"; do [[ $file == "$secret" ]] && skip=1; done
        ((skip)) || left+=("$file")
    done < <(find "$work" -type f -print0)
    ((${#canaries[@]} == 0)) || ((${#left[@]} == 0)) || check_no_canary "${left[@]}"
    if ((failures > 0)); then
        echo "$failures failure(s)" >&2
        exit 1
    fi
    echo "$1 tests passed"
}
