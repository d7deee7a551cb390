# scaffold - plain Makefile.  Flags come from pkg-config; objects go under
# build/; the binary is ./scaffold.
#
#   make                      build ./scaffold
#   make check                install dependencies, build, run every test;
#                             then again built with ASan and UBSan
#                             (build-asan/), then the unit tests under
#                             valgrind
#   make demo                 install dependencies, build, run the demo
#   make SANITIZE=address,undefined check   the tests of one sanitized build
#   make valgrind             the unit tests under valgrind
#   make bench                run the benchmarks (see bench/README.md)
#   make install              binary, man pages, unit, completion, config
#                             (PREFIX, DESTDIR, ...; see "Installing")
#   make deb / deb-check      a Debian package / and lintian on it

CC ?= cc
PKGS = yaml-0.1 libcrypto jansson sqlite3 libgit2 libcurl libarchive libssh2 \
	libmicrohttpd
TEST_PKGS = cmocka

BUILD = build
CFLAGS ?= -O2 -g
WARNINGS = -std=c11 -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wno-missing-field-initializers
CPPFLAGS += -D_GNU_SOURCE
ALL_CFLAGS = $(WARNINGS) $(CFLAGS) $(CPPFLAGS) \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
# Resolve every symbol at start (and keep the GOT read-only): each local
# run's init is a clone of the spawner that calls functions the spawner
# never did, and lazy binding made every one of them look its symbols up
# again in some 50 shared objects (bench/README.md, "Engine").
LDFLAGS += -Wl,-z,relro,-z,now

ifdef SANITIZE
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
endif

LIB_SRC = $(wildcard common/*.c reconciler/*.c runner/*.c gitsync/*.c \
	webhook/*.c daemon/*.c)
CLI_SRC = $(wildcard cli/*.c)
UNIT_SRC = $(wildcard tests/unit/test_*.c)

LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ = $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
LIBA = $(BUILD)/libscaffold.a

# BIN: where the binary goes (a private build: make BUILD=b2 BIN=b2/scaffold)
BIN = scaffold

all: $(BIN)

# Rebuild everything when the flags change (a sanitizer build and a normal
# one never mix objects).
FLAGS_FILE = $(BUILD)/FLAGS
$(FLAGS_FILE): FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(LIBS)' > $@.new
	@if cmp -s $@ $@.new; then rm $@.new; else mv $@.new $@; fi

$(BUILD)/%.o: %.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBA) tests/unit/unit.h $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags $(TEST_PKGS)) \
		-DSRCDIR=\"$(CURDIR)\" \
		-o $@ $< $(LIBA) $(LDFLAGS) $(LIBS) \
		$(shell pkg-config --libs $(TEST_PKGS))

deps:
	./scripts/install-deps.sh

# The two commands of the README.  Dependencies first, in a separate make
# so that pkg-config sees the freshly installed libraries.  What the tests
# need is built first with JOBS compilers at once (the tests themselves
# then run as they always do: prove -j2, the unit tests one by one).
JOBS = $(shell nproc 2>/dev/null || echo 2)
check: deps
	@$(MAKE) --no-print-directory -j$(JOBS) test-build
	@$(MAKE) --no-print-directory test
ifndef SANITIZE
	@$(MAKE) --no-print-directory bench-smoke
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory valgrind
endif

# everything make test runs, built
test-build: $(BIN) $(UNIT_BIN) $(FORGE_STUB) $(NOTIFY_LISTEN)
ifndef SANITIZE
test-build: fuzz-build
endif

# Sanitizers and leaks (issue 9, item 5; docs/RELIABILITY.md): the unit and
# e2e tests again, built with ASan and UBSan into their own build dir (a
# sanitized make test leaves out fuzz-short: the fuzzers are ASan builds
# already); the unit tests of the normal build under valgrind.
ASAN_BUILD = build-asan
ASAN_MAKE = $(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) \
	BIN=$(ASAN_BUILD)/scaffold SANITIZE=address,undefined
test-asan:
	@$(ASAN_MAKE) -j$(JOBS) test-build
	@$(ASAN_MAKE) test

# --track-origins is left out (twice the time); add it through
# VALGRIND_FLAGS to find where an uninitialised value comes from.
VALGRIND_FLAGS =
VALGRIND = valgrind -q --error-exitcode=1 --leak-check=full \
	--show-leak-kinds=definite --errors-for-leak-kinds=definite \
	--trace-children=no \
	--suppressions=$(CURDIR)/tests/valgrind.supp $(VALGRIND_FLAGS)
valgrind: $(UNIT_BIN)
	@if [ -n "$(SANITIZE)" ]; then \
		echo "make valgrind: needs a build without SANITIZE" >&2; \
		exit 2; fi
	@SCAFFOLD_VALGRIND=1; export SCAFFOLD_VALGRIND; $(UNIT_RUN)
valgrind: UNIT_WRAP = $(VALGRIND)

demo: deps
	@$(MAKE) --no-print-directory $(BIN)
	./scripts/demo.sh

# The e2e scripts, the longest first (prove -j2 gives the next script to
# the slot that frees first, so that two long ones do not end up last on
# one slot), then the rest by number, the highest first.  E2E_LONG: the
# scripts over 40 s, longest first, as measured in make check (docs/
# RELIABILITY.md, "Time of make check").
E2E_LONG = t9000-crash t1020-big-blobs t5140-pr-hostile t3130-swarm-crash \
	t6000-status-pages t5020-api t3120-swarm-global t5160-pr-plan-page \
	t0420-deb t8000-faults-docker t4000-docker t0100-validate-corpus \
	t4010-check-docker t5010-commit-status t2310-fanout-hosts \
	t2300-one-truth t0400-man-pages t5050-webhook-replay t0410-install \
	t2060-runners t8030-faults-forge t3110-swarm-two-nodes \
	t2200-check-local t8010-faults-ssh t2350-api-consistency \
	t1000-gitsync-serve t8040-faults-disk
# Left out of the sanitized pass (make test-asan; each says so when run
# by hand with SANITIZE set): they check packaging and documentation, not
# what the C code does with memory, and run in the plain pass.
#   t0400-man-pages  the man page against --help, mandoc -Tlint, the bash
#                    completion: text made from the help strings
#   t0410-install    make install/uninstall into a DESTDIR, the unit file
#                    (systemd-analyze verify); the installed binary only
#                    starts and stops, as in every other script
#   t0420-deb        make deb and lintian
E2E_ASAN_SKIP = t0400-man-pages t0410-install t0420-deb
E2E_ALL = $(shell ls -r tests/e2e/t[0-9]*.sh)
E2E_FIRST = $(filter $(E2E_LONG:%=tests/e2e/%.sh),$(E2E_ALL))
E2E_ORDER = $(foreach t,$(E2E_LONG),$(filter tests/e2e/$(t).sh,$(E2E_ALL))) \
	$(filter-out $(E2E_FIRST),$(E2E_ALL))
ifdef SANITIZE
E2E = $(filter-out $(E2E_ASAN_SKIP:%=tests/e2e/%.sh),$(E2E_ORDER))
else
E2E = $(E2E_ORDER)
endif

# The unit tests, each with a TMPDIR of their own: what a test leaves in
# it (tests/unit/unit.h removes what unit_tmpdir made even when a test
# fails) fails the run.
UNIT_RUN = set -e; u=$$(mktemp -d /tmp/unit-tmp.XXXXXX); chmod 1777 $$u; \
	trap 'rm -rf "$$u"' EXIT; \
	for t in $(UNIT_BIN); do echo "== $$t"; \
		TMPDIR=$$u CMOCKA_MESSAGE_OUTPUT=stdout $(UNIT_WRAP) $$t; \
		if [ -n "$$(ls -A $$u)" ]; then \
			echo "$$t left in its TMPDIR: $$(ls -A $$u)" >&2; \
			exit 1; fi; done

test: $(BIN) $(UNIT_BIN)
	@$(UNIT_RUN)
	SCAFFOLD=$(abspath $(BIN)) \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
		prove -j2 --timer $(E2E)

unit: $(UNIT_BIN)
	@$(UNIT_RUN)

bench: $(BIN)
	./bench/run.sh

# Every benchmark once at its smallest size, with its checks (part of make
# check, so that none rots; the timings mean nothing there).
bench-smoke: $(BIN)
	SCAFFOLD=$(abspath $(BIN)) sh bench/smoke.sh

clean:
	rm -rf $(BUILD) scaffold

.PHONY: all deps check demo test unit bench bench-smoke clean FORCE \
	test-asan valgrind test-build

# Installing (issue 18): the binary, the man pages, the systemd unit, the
# bash completion and an example config.
#   make install [PREFIX=/usr/local] [DESTDIR=...] [BINDIR=...] [MANDIR=...]
#                [SYSCONFDIR=...] [UNITDIR=...]
#   make uninstall (the same variables)
# The config, SYSCONFDIR/scaffold/scaffold.yaml, is installed from the
# example only when there is none; uninstall removes it only when it is
# still the example.  The unit runs BINDIR/scaffold with that config, as
# the user scaffold (make deb's postinst creates it; see README.md).
PREFIX = /usr/local
BINDIR = $(PREFIX)/bin
DATADIR = $(PREFIX)/share
MANDIR = $(DATADIR)/man
DOCDIR = $(DATADIR)/doc/scaffold
SYSCONFDIR = $(PREFIX)/etc
UNITDIR = $(PREFIX)/lib/systemd/system
BASHCOMPDIR = $(DATADIR)/bash-completion/completions
MAN1 = docs/scaffold.1
MAN5 = docs/scaffold.yaml.5 docs/scaffold-cascade.5

# INSTALL_BIN: the binary make install installs, built first; a test
# names the one it tests (an absolute path: nothing is built then).
INSTALL_BIN = $(BIN)

# made from the binary's --help texts (scripts/completion.sh)
$(BUILD)/scaffold.bash: $(INSTALL_BIN) scripts/completion.sh \
		scripts/help-table.sh
	@mkdir -p $(dir $@)
	sh scripts/completion.sh $(abspath $(INSTALL_BIN)) >$@.tmp
	mv $@.tmp $@

$(BUILD)/scaffold.service: dist/scaffold.service.in FORCE
	@mkdir -p $(dir $@)
	@sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		$< >$@.tmp
	@if cmp -s $@ $@.tmp; then rm $@.tmp; else mv $@.tmp $@; fi

install: $(INSTALL_BIN) $(BUILD)/scaffold.bash $(BUILD)/scaffold.service
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(SYSCONFDIR)/scaffold
	install -m 755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/scaffold
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 644 $(BUILD)/scaffold.service $(DESTDIR)$(UNITDIR)/scaffold.service
	install -m 644 $(BUILD)/scaffold.bash $(DESTDIR)$(BASHCOMPDIR)/scaffold
	install -m 644 dist/scaffold.yaml $(DESTDIR)$(DOCDIR)/examples/scaffold.yaml
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/scaffold/scaffold.yaml ]; then \
		echo "install: $(DESTDIR)$(SYSCONFDIR)/scaffold/scaffold.yaml exists: kept"; \
	else \
		echo "install -m 640 dist/scaffold.yaml $(DESTDIR)$(SYSCONFDIR)/scaffold/scaffold.yaml"; \
		install -m 640 dist/scaffold.yaml $(DESTDIR)$(SYSCONFDIR)/scaffold/scaffold.yaml; \
	fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/scaffold \
		$(DESTDIR)$(MANDIR)/man1/scaffold.1 \
		$(DESTDIR)$(MANDIR)/man5/scaffold.yaml.5 \
		$(DESTDIR)$(MANDIR)/man5/scaffold-cascade.5 \
		$(DESTDIR)$(UNITDIR)/scaffold.service \
		$(DESTDIR)$(BASHCOMPDIR)/scaffold \
		$(DESTDIR)$(DOCDIR)/examples/scaffold.yaml
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null
	@if cmp -s dist/scaffold.yaml $(DESTDIR)$(SYSCONFDIR)/scaffold/scaffold.yaml; then \
		echo "rm -f $(DESTDIR)$(SYSCONFDIR)/scaffold/scaffold.yaml"; \
		rm -f $(DESTDIR)$(SYSCONFDIR)/scaffold/scaffold.yaml; \
		rmdir $(DESTDIR)$(SYSCONFDIR)/scaffold 2>/dev/null || true; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/scaffold/scaffold.yaml ]; then \
		echo "uninstall: $(DESTDIR)$(SYSCONFDIR)/scaffold/scaffold.yaml was changed: kept"; \
	fi

# A Debian package (issue 18): make install into a staging tree with
# Debian's paths, plus the control files of dist/debian/.  make deb-check
# builds it and runs lintian, which must report no error.
DEB_VERSION = $(shell sed -n 's/^\#define SCAFFOLD_VERSION "\(.*\)"/\1/p' \
	common/common.h)
DEB_ARCH = $(shell dpkg --print-architecture 2>/dev/null)
DEB_STAGE = $(BUILD)/deb/scaffold
DEB = $(BUILD)/scaffold_$(DEB_VERSION)-1_$(DEB_ARCH).deb

deb: $(INSTALL_BIN)
	rm -rf $(DEB_STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(DEB_STAGE)) \
		PREFIX=/usr SYSCONFDIR=/etc UNITDIR=/lib/systemd/system
	sh dist/debian/stage.sh $(DEB_STAGE) $(DEB_VERSION)-1 $(DEB_ARCH)
	dpkg-deb --root-owner-group -Zxz --build $(DEB_STAGE) $(DEB)

deb-check: deb
	lintian --fail-on error $(DEB)

.PHONY: install uninstall deb deb-check

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

# The recording forge API of the commit status tests (t5010): it stands in
# for GitHub, GitLab and Gitea.  The tests find it through FORGE_STUB.
FORGE_STUB = $(BUILD)/tests/forge-stub
$(FORGE_STUB): tests/stub/forge-stub.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS) $(LIBS)
test: $(FORGE_STUB)
test: export FORGE_STUB := $(abspath $(FORGE_STUB))

# systemd's notify socket, for the sd_notify test (t0430).
NOTIFY_LISTEN = $(BUILD)/tests/notify-listen
$(NOTIFY_LISTEN): tests/stub/notify-listen.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS)
test: $(NOTIFY_LISTEN)
test: export NOTIFY_LISTEN := $(abspath $(NOTIFY_LISTEN))

# Fuzzing (issue 9, item 4; docs/RELIABILITY.md): the libFuzzer targets of
# fuzz/, built with clang, ASan and UBSan into $(FUZZ_BUILD) with their own
# copy of the library (the normal build is untouched).  Seeds and
# regression inputs: tests/cases/fuzz-<target>/ (see fuzz/run.sh).
#   make fuzz                   each target for FUZZ_SECONDS
#   make fuzz-short             each target for FUZZ_SHORT_SECONDS, from
#                               the seeds alone (part of make test: ~15 s,
#                               ~30 s with the build)
FUZZ_CC = clang
FUZZ_BUILD = build-fuzz-targets
FUZZ_SECONDS = 300
FUZZ_SHORT_SECONDS = 5
FUZZ_CFLAGS = $(WARNINGS) -O1 -g -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all $(CPPFLAGS) \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_BIN = $(patsubst fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard fuzz/fuzz-*.c))
FUZZ_LIB_OBJ = $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP \
		-c -o $@ $<

$(FUZZ_BUILD)/libscaffold.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz-%: fuzz/fuzz-%.c $(FUZZ_BUILD)/libscaffold.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_BUILD)/libscaffold.a $(LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	./fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

fuzz-short: fuzz-build
	./fuzz/run.sh -s $(FUZZ_SHORT_SECONDS) $(FUZZ_BIN)

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

ifndef SANITIZE
test: fuzz-short
endif

.PHONY: fuzz fuzz-build fuzz-short fuzz-clean

-include $(FUZZ_LIB_OBJ:.o=.d)

# The crash campaign (issue 9, item 1; docs/RELIABILITY.md): scaffold serve
# killed with SIGKILL at random moments while a 50-task cascade of local,
# docker and ssh tasks reconciles CRASH_TRIALS pushes (tests/crash/).
# tests/e2e/t9000-crash.sh runs a short one in make test.
#   make crash                      30 trials, a seed from the clock
#   make crash CRASH_TRIALS=100 CRASH_SEED=4711
# The summary is appended to $(BUILD)/crash.log.
CRASH_TRIALS = 30
CRASH_SEED =
crash: $(BIN) $(FORGE_STUB)
	CRASH_TRIALS=$(CRASH_TRIALS) CRASH_SEED=$(CRASH_SEED) \
	CRASH_LOG=$(abspath $(BUILD)/crash.log) SCAFFOLD=$(abspath $(BIN)) \
	FORGE_STUB=$(abspath $(FORGE_STUB)) sh tests/crash/campaign.sh

.PHONY: crash
