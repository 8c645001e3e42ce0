#!/bin/sh
# lazymig as installed by the RPM (the spec fills in @JARDIR@ and @LIBDIR@).
# Every path is taken relative to this script's own root, so a copy installed under a scratch
# root (rpm --root DIR; make rpm-test) runs DIR's jars, library and stub: DIR/usr/bin/lazymig.
set -eu
self=$(readlink -f "$0")
case $self in
  */usr/bin/lazymig) root=${self%/usr/bin/lazymig} ;;
  *) root= ;;
esac
jars=$root@JARDIR@
lib=$root@LIBDIR@
# LAZYMIG_JAVA_OPTS from the environment wins over the one in lazymig.conf.
conf=$root/etc/lazymig/lazymig.conf
if [ -z "${LAZYMIG_JAVA_OPTS+set}" ] && [ -r "$conf" ]; then
  LAZYMIG_JAVA_OPTS=$(. "$conf" && printf '%s' "${LAZYMIG_JAVA_OPTS:-}")
fi
java=java
if [ -n "${JAVA_HOME:-}" ]; then java=$JAVA_HOME/bin/java; fi
if ! command -v "$java" >/dev/null 2>&1; then
  echo "lazymig: no Java runtime ('$java' not found); install Java 17 or set JAVA_HOME" >&2
  exit 1
fi
# Word splitting of LAZYMIG_JAVA_OPTS is wanted: it holds several JVM options.
# shellcheck disable=SC2086
# Defaults first, so LAZYMIG_JAVA_OPTS can override them (-Xms16m: a small young generation keeps
# the peak RSS low; -XX:-UsePerfData: lazymig never deletes a dumped JVM's /tmp/hsperfdata_USER/PID;
# -XX:TrimNativeHeapInterval=5000: a long-running server gives freed C heap back; see the launcher
# in the source tree).
heap="-Xms16m"
case "${1:-}" in
  migrate|agent) heap="-Xms96m -Xmn64m" ;; # a young generation that holds the freeze to well into the lazy phase (see the launcher in the source tree)
esac
exec "$java" -XX:+UseSerialGC -XX:-UsePerfData -Xshare:auto $heap -XX:TrimNativeHeapInterval=5000 ${LAZYMIG_JAVA_OPTS:-} \
  -Dlazymig.library.path="$lib/liblazymig.so" \
  -Dlazymig.native.dir="$lib" \
  -cp "$jars/*" io.lazymig.cli.Main "$@"
