# lazymig — the entry point for humans and CI.
#   make          build everything (Java modules, liblazymig.so, test workloads)
#   make test     all tests: unit (no root) and integration (it/, root, real kernel)
#   make help     this list
# Every target installs what it needs on a fresh Debian 12 machine (apt-get, Maven Central).

SHELL := /bin/bash
MVN   ?= mvn
MVN_FLAGS ?= -B -ntp
QUICK ?= 0
# Debian packages the build and the tests need (command:package).
DEPS := gcc:gcc make:make javac:openjdk-17-jdk-headless mvn:maven python3:python3 \
        crit:criu ip:iproute2 nsenter:util-linux unshare:util-linux
# Programs only some integration tests run (DumpServicesIT); a test whose program is missing is
# skipped and says why, so a machine without them (offline) still runs the rest.
TEST_DEPS := redis-server:redis-server node:nodejs nginx:nginx-light

.PHONY: all build test unit it e2e bench bench-dump bench-restore demo rpm rpm-test help clean deps deps-test check

all: build

help:
	@echo "make            build everything (Java modules, liblazymig.so, test workloads)"
	@echo "make test       all tests: unit (no root) and integration (it/, needs root)"
	@echo "make unit       unit tests only (no root)"
	@echo "make demo       the whole flow on this machine"
	@echo "make e2e        end-to-end migrations between two network-namespace hosts"
	@echo "make bench      the performance report"
	@echo "make bench-dump the frozen time of dumping a 1 GiB process"
	@echo "make bench-restore  restore timings, lazy and eager, 256 MiB and 1 GiB"
	@echo "make rpm        the RPM and source RPM, into dist/target/rpm/ (RELEASE=N, default 1)"
	@echo "make rpm-test   check the RPM: file list, install into a scratch root, lazymig check (root)"
	@echo "make deps-test  the programs some tests run (redis-server, node); missing ones skip those tests"
	@echo "make clean      remove build outputs"
	@echo "./lazymig ...   run the built tree (./lazymig --help, ./lazymig check)"

# Installs missing Debian packages once; a non-root user gets the list instead.
deps:
	@missing=""; for d in $(DEPS); do command -v $${d%%:*} >/dev/null 2>&1 || missing="$$missing $${d##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "lazymig: missing packages:$$missing (run 'make deps' as root)" >&2; exit 1; fi; \
	  echo "lazymig: installing$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The test-only programs: installed when missing and possible; a failure is reported, not fatal.
deps-test:
	@missing=""; for d in $(TEST_DEPS); do command -v $${d%%:*} >/dev/null 2>&1 || missing="$$missing $${d##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "lazymig: tests will skip for want of:$$missing (run 'make deps-test' as root)" >&2; exit 0; fi; \
	  echo "lazymig: installing$$missing (for the tests)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; } \
	    || echo "lazymig: could not install$$missing: the tests that run them are skipped" >&2; \
	fi

build: deps
	$(MVN) $(MVN_FLAGS) -DskipTests package
	$(MAKE) -C it/workloads
	$(MAKE) -C it/bench

# Unit tests (surefire) in every module, then the integration tests (failsafe, module it/) as root.
test: deps deps-test
	@[ "$$(id -u)" = 0 ] || { echo "lazymig: 'make test' runs the integration tests with userfaultfd and ptrace: run it as root" >&2; exit 1; }
	$(MVN) $(MVN_FLAGS) verify

unit: deps
	$(MVN) $(MVN_FLAGS) -DskipITs test

check: build
	./lazymig check

# The two-host cases (it/e2e/e2e.sh): network-namespace hosts here, or two real machines with
# SRC='ssh root@host-b' DST='ssh root@host-a' SRC_ADDR=host-b; CASES="static big" picks some.
e2e: build
	@[ "$$(id -u)" = 0 ] || [ -n "$$SRC" ] || { echo "lazymig: 'make e2e' makes network namespaces and uses ptrace: run it as root" >&2; exit 1; }
	it/e2e/e2e.sh $(CASES)

# The performance figures between the namespace hosts, each a ratio against a baseline of the
# same run (bench/report.md, bench/report.json). QUICK=1: 256 MiB instead of 1 GiB.
bench: build
	@[ "$$(id -u)" = 0 ] || { echo "lazymig: 'make bench' makes network namespaces and uses ptrace: run it as root" >&2; exit 1; }
	QUICK=$(QUICK) it/bench/bench.sh

# Restore's timings: command start to running, lazy and eager, 256 MiB and 1 GiB (issue 4's numbers).
bench-restore: build
	it/scripts/bench-restore.sh 256 1024

# The frozen time of dumping a 1 GiB workload (issue 3's number): median of 3, memory pre-warmed.
bench-dump: build
	it/scripts/bench-dump.sh 1024 3

# The RPM of this working tree and its source RPM, into dist/target/rpm/ (dist/rpm/build-rpm.sh:
# installs Debian's rpm when missing). rpmbuild's %build runs Maven offline on the ~/.m2 that
# 'make build' filled.
RELEASE ?= 1
rpm: build
	RELEASE=$(RELEASE) dist/rpm/build-rpm.sh

# Checks that RPM: exact file list, install into a scratch root, the installed lazymig --version
# and lazymig check, the man page without warnings (dist/rpm/rpm-test.sh).
rpm-test: rpm
	@[ "$$(id -u)" = 0 ] || { echo "lazymig: 'make rpm-test' installs into a scratch root and runs lazymig check: run it as root" >&2; exit 1; }
	dist/rpm/rpm-test.sh

demo: build
	@[ "$$(id -u)" = 0 ] || { echo "lazymig: 'make demo' makes network namespaces and uses ptrace: run it as root" >&2; exit 1; }
	./lazymig check
	@it/e2e/demo.sh

clean:
	$(MVN) $(MVN_FLAGS) -q clean
	$(MAKE) -C native clean
	$(MAKE) -C it/workloads clean
