#!/bin/bash
# make rpm: the binary and the source RPM of this working tree, into dist/target/rpm/.
# RELEASE=N sets the RPM release (default 1). Run after 'make' (the Makefile does).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$PWD/dist/target/rpm
release=${RELEASE:-1}

fail() { echo "make rpm: $*" >&2; exit 1; }

if ! command -v rpmbuild >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || fail "rpmbuild is missing: run 'make rpm' as root to install Debian's rpm package"
  echo "make rpm: installing rpm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends rpm >/dev/null
fi

# The version is Maven's, as the build wrote it for 'lazymig --version'. RPM forbids '-' in a
# version: 0.1.0-SNAPSHOT becomes 0.1.0~SNAPSHOT ('~' sorts before 0.1.0, Fedora's rule for
# pre-releases).
props=dist/target/classes/io/lazymig/cli/version.properties
[ -f "$props" ] || fail "$props is missing: run 'make' first"
version=$(sed -n 's/^version=//p' "$props" | tr - '~')
[ -n "$version" ] || fail "no version in $props"
name=lazymig-$version

rm -rf "$out"
mkdir -p "$out/build/SOURCES" "$out/build/SPECS"

# The source tarball: the working tree as git sees it (tracked files as they are now, plus new
# files not ignored), so the RPM holds what was just built, committed or not. Reproducible:
# sorted, the last commit's time, owner root.
git rev-parse --git-dir >/dev/null 2>&1 || fail "not a git work tree: the source tarball is made from git's file list"
epoch=$(git log -1 --format=%ct)
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
        --transform "s,^,$name/,S" -cf - \
  | gzip -n > "$out/build/SOURCES/$name.tar.gz"

spec=$out/build/SPECS/lazymig.spec
sed -e "s/@VERSION@/$version/g" -e "s/@RELEASE@/$release/g" dist/rpm/lazymig.spec > "$spec"

# Where no rpm database owns the system (Debian), the BuildRequires cannot be checked by rpm:
# 'make' has installed them.
nodeps=
rpm -q --quiet --whatprovides /bin/sh || nodeps=--nodeps

echo "make rpm: rpmbuild $name (log: $out/rpmbuild.log)"
if ! SOURCE_DATE_EPOCH=$epoch rpmbuild -ba $nodeps \
    --define "_topdir $out/build" \
    --define "_rpmdir $out" \
    --define "_srcrpmdir $out" \
    --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
    "$spec" > "$out/rpmbuild.log" 2>&1; then
  tail -n 30 "$out/rpmbuild.log" >&2
  fail "rpmbuild failed; the whole log is $out/rpmbuild.log"
fi
ls -1 "$out"/*.rpm
