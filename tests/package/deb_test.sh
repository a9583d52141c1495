#!/usr/bin/env bash
# The Debian package, built from the build tree and taken apart again:
#   tests/package/deb_test.sh BUILD_DIR SOURCE_DIR
# cpack -G DEB; dpkg-deb -I/-c: control fields, Depends from dpkg-shlibdeps, conffiles, maintainer
# scripts, the file list; dpkg-deb -x: the extracted s1pilot runs (`version`) and validates the
# extracted example configuration with the extracted playbooks.
# Exit 77 (ctest SKIP_RETURN_CODE) only when dpkg-deb/dpkg-shlibdeps are missing and cannot be
# installed.
set -euo pipefail

build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset S1PILOT_CONFIG
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

if ! command -v dpkg-shlibdeps >/dev/null || ! command -v file >/dev/null; then
    "$src/scripts/deps" >&2 || true
fi
if ! command -v dpkg-shlibdeps >/dev/null || ! command -v file >/dev/null; then
    echo "SKIP: dpkg-shlibdeps (dpkg-dev) or file is not installed and scripts/deps could not install them" >&2
    exit 77
fi

# Package into the temporary directory: cpack's staging tree goes there too.
timeout 300 cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log" >&2; fail "cpack -G DEB failed"; exit 1; }
debs=("$work"/out/s1pilot_*.deb)
[[ ${#debs[@]} == 1 && -f ${debs[0]} ]] || { ls -l "$work/out" >&2; fail "expected one s1pilot_*.deb"; exit 1; }
deb=${debs[0]}
echo "package: $(basename "$deb") ($(stat -c %s "$deb") bytes)"

# Control fields.
dpkg-deb -I "$deb" >"$work/info"
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == s1pilot ]] || fail "Package: $(field Package)"
[[ $(field Version) =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "Version: $(field Version)"
[[ $(field Architecture) == "$(dpkg --print-architecture)" ]] || fail "Architecture: $(field Architecture)"
[[ -n $(field Maintainer) ]] || fail "no Maintainer"
[[ -n $(field Description) ]] || fail "no Description"
depends=$(field Depends)
echo "Depends: $depends"
# Computed by dpkg-shlibdeps from the binaries, plus adduser for postinst.
for dep in adduser libc6 libssl3 libsqlite3-0 libpq5 libyaml-cpp0.7 libsystemd0 libstdc++6; do
    [[ ", $depends," == *", $dep "* || ", $depends," == *", $dep,"* ]] || fail "Depends lacks $dep: $depends"
done

# Conffiles and maintainer scripts.
dpkg-deb -e "$deb" "$work/control"
for conffile in /etc/s1pilot/s1pilot.yaml /etc/s1pilot/playbooks/contain-ransomware.yaml; do
    grep -qx "$conffile" "$work/control/conffiles" || fail "conffiles lacks $conffile: $(cat "$work/control/conffiles")"
done
for playbook in "$src"/config/playbooks/*.yaml; do
    grep -qx "/etc/s1pilot/playbooks/$(basename "$playbook")" "$work/control/conffiles" ||
        fail "conffiles lacks playbook $(basename "$playbook")"
done
for script in postinst prerm postrm; do
    [[ -x $work/control/$script ]] || { fail "no executable $script"; continue; }
    sh -n "$work/control/$script" || fail "$script: syntax error"
done
grep -q 'adduser --system' "$work/control/postinst" || fail "postinst creates no system user"

# Files.
dpkg-deb -c "$deb" | awk '{print $1, $2, $NF}' >"$work/contents"
for path in ./usr/bin/s1pilot ./usr/bin/s1sim ./usr/lib/systemd/system/s1pilot.service \
    ./etc/s1pilot/s1pilot.yaml ./etc/s1pilot/playbooks/contain-ransomware.yaml \
    ./usr/share/doc/s1pilot/README.md ./usr/share/doc/s1pilot/operations.md \
    ./usr/share/s1pilot/prometheus/s1pilot-rules.yaml ./usr/share/s1pilot/grafana/s1pilot.json; do
    grep -q " $path\$" "$work/contents" || fail "package lacks $path"
done
grep -q '^-rwxr-xr-x root/root ./usr/bin/s1pilot$' "$work/contents" || fail "s1pilot mode/owner: $(grep /usr/bin/s1pilot "$work/contents")"
grep -q '^-rw-r--r-- root/root ./etc/s1pilot/s1pilot.yaml$' "$work/contents" || fail "s1pilot.yaml mode/owner"
# Nothing of the build machine: no /usr/etc, no /usr/local, no build paths.
if grep -E ' \./(usr/etc|usr/local|work|tmp|home)' "$work/contents"; then fail "unexpected paths in the package"; fi

# The extracted program runs.
dpkg-deb -x "$deb" "$work/root"
bin=$work/root/usr/bin/s1pilot
[[ $("$bin" version) =~ ^s1pilot\ $(field Version)$ ]] || fail "version: $("$bin" version)"
file "$bin" | grep -q 'stripped' && ! file "$bin" | grep -q 'not stripped' || fail "s1pilot is not stripped: $(file "$bin")"

# The extracted example configuration validates. It names absolute production paths that do not
# exist here: the playbook directory (/etc/s1pilot/playbooks, pointed at the extracted one), the
# credentials systemd would provide under /run/credentials/s1pilot.service (pointed at stand-ins
# made here, mode 0600 as LoadCredential= makes them) and the corporate CA file (an empty stand-in:
# validate checks that it is a file). Everything else is validated as shipped, and the copy must
# differ from it in exactly those lines.
mkdir -m 0700 "$work/credentials"
for name in s1-token admin-token audit-key; do
    (umask 077 && printf 'stand-in-%s\n' "$name" >"$work/credentials/$name")
done
: >"$work/corp-ca.pem"
shipped=$work/root/etc/s1pilot/s1pilot.yaml
sed -e "s|^playbooks: /etc/s1pilot/playbooks |playbooks: $work/root/etc/s1pilot/playbooks |" \
    -e "s|/run/credentials/s1pilot.service/|$work/credentials/|" \
    -e "s|ca_file: /etc/s1pilot/corp-ca.pem |ca_file: $work/corp-ca.pem |" \
    "$shipped" >"$work/s1pilot.yaml"
changed=$(diff "$shipped" "$work/s1pilot.yaml" | grep -c '^>' || true)
[[ $changed == 5 ]] || fail "expected 5 rewritten lines (playbooks, 3 secrets, ca_file), got $changed"
got=0
"$bin" validate -c "$work/s1pilot.yaml" >"$work/validate.out" 2>"$work/validate.err" || got=$?
[[ $got == 0 ]] || fail "validate exit $got: $(cat "$work/validate.out" "$work/validate.err")"
count=$(ls "$work"/root/etc/s1pilot/playbooks/*.yaml | wc -l)
grep -qx "ok: configuration and $count playbooks valid, 0 warnings" "$work/validate.out" ||
    fail "validate: $(cat "$work/validate.out" "$work/validate.err")"
cat "$work/validate.out"

if ((failures > 0)); then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "package ok"
