#!/bin/bash
# make rpm-test: checks the RPM that 'make rpm' left in dist/target/rpm/ — its file list against
# dist/rpm/expected-files.txt, its scriptlets and dependencies, an install into a scratch root,
# the installed 'lazymig --version' and 'lazymig check' (root), and the installed man page.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=dist/target/rpm

fail() { echo "rpm-test: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root: installing into a scratch root and 'lazymig check' need it"
shopt -s nullglob
rpms=("$out"/lazymig-*.x86_64.rpm)
srpms=("$out"/lazymig-*.src.rpm)
[ ${#rpms[@]} = 1 ] && [ ${#srpms[@]} = 1 ] || fail "expected one binary and one source RPM in $out: run 'make rpm'"
rpmfile=${rpms[0]}
version=$(rpm -qp --qf '%{VERSION}' "$rpmfile")
mvn_version=${version//\~/-}   # 0.1.0~SNAPSHOT is Maven's 0.1.0-SNAPSHOT (build-rpm.sh)

# The file list, exactly; @VERSION@ stands for Maven's version in the jar names.
rpm -qlp "$rpmfile" | sed "s|${mvn_version//./\\.}|@VERSION@|g" > "$out/files.txt"
diff -u dist/rpm/expected-files.txt "$out/files.txt" >&2 \
  || fail "rpm -qlp differs from dist/rpm/expected-files.txt (diff above)"
printf '%s\n' "lazymig-$version.tar.gz" lazymig.spec > "$out/srpm-files.expected"
rpm -qlp "${srpms[0]}" | diff -u "$out/srpm-files.expected" - >&2 \
  || fail "the source RPM should hold just the tarball and the spec (diff above)"

# The configuration survives upgrades; the systemd macros (or their fallbacks) were expanded.
flags=$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpmfile" | awk '$2 == "/etc/lazymig/lazymig.conf" {print $1}')
[ "$flags" = cn ] || fail "/etc/lazymig/lazymig.conf is not %config(noreplace) (flags '$flags')"
flags=$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpmfile" | awk '$2 == "/etc/lazymig/agent.conf" {print $1}')
[ "$flags" = cn ] || fail "/etc/lazymig/agent.conf is not %config(noreplace) (flags '$flags')"
scripts=$(rpm -qp --scripts "$rpmfile")
grep -q 'systemctl' <<<"$scripts" || fail "the scriptlets do not call systemctl"
! grep -q '%' <<<"$scripts" || fail "an unexpanded macro in the scriptlets: $(grep '%' <<<"$scripts" | head -1)"
rpm -qp --requires "$rpmfile" | grep -qx '(java-17-headless or java-17-openjdk-headless or jre-17-headless)' \
  || fail "the package does not require a Java 17 runtime"

# Install into a scratch root. No chroot: the root has no java or libc. --noscripts: the
# scriptlets would run /bin/sh inside it. The launcher finds its files relative to itself, so
# ROOT/usr/bin/lazymig runs ROOT's jars, library and stub, with the host's java; it fails if it
# looks anywhere else, as nothing is installed outside ROOT.
root=$PWD/$out/root
rm -rf "$root"
mkdir -p "$root"
# (Debian's rpm warns on every install that alien should be used: the log keeps it.)
rpm --root "$root" --nodeps --noscripts -i "$rpmfile" > "$out/install.log" 2>&1 \
  || { cat "$out/install.log" >&2; fail "rpm -i into $root failed"; }
rpm --root "$root" -V --nodeps lazymig || fail "rpm -V: the installed files differ from the package"

got=$("$root/usr/bin/lazymig" --version) || fail "the installed 'lazymig --version' failed"
[ "$got" = "lazymig $mvn_version" ] || fail "installed 'lazymig --version' printed '$got', expected 'lazymig $mvn_version' (the package is $version)"
echo "rpm-test: installed: $got"
"$root/usr/bin/lazymig" check || fail "the installed 'lazymig check' failed (lines above)"

# The man page renders without a warning.
if ! command -v man >/dev/null 2>&1 || ! command -v groff >/dev/null 2>&1; then
  echo "rpm-test: installing man-db and groff-base"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends man-db groff-base >/dev/null
fi
pages=("$root"/usr/share/man/man8/lazymig.8*)
[ ${#pages[@]} = 1 ] || fail "lazymig.8 is not installed"
warnings=$(MANWIDTH=80 man --warnings -l "${pages[0]}" 2>&1 >/dev/null)
[ -z "$warnings" ] || fail "man --warnings on lazymig.8: $warnings"

echo "rpm-test: OK ($(basename "$rpmfile"): $(wc -l < "$out/files.txt") files)"
