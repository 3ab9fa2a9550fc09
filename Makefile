# whochanged - see README.md.
#   make            build build/whochanged
#   make test       install missing build deps, build, run every test
#   make check      the same suite under AddressSanitizer + UBSan (leaks fail)
#   make demo       the embedded demo on 127.0.0.1
#   make bench      benchmarks (figures go to BENCHMARKS.md)
#   make evindex-bench  ingest micro-benchmark of the CloudTrail event stream
#   make lint       cppcheck over the product code (no finding allowed)
#   make fuzz       build the libFuzzer targets (clang) into build/fuzz and run
#                   each for FUZZ_SECONDS (default 60); see tests/fuzz/README.md
#   make install    PREFIX=/usr/local DESTDIR= (make uninstall undoes it)
#   make deb        a Debian package in build/ (dpkg-deb; lintian when installed)
#   make version    print the version (scripts/version: VERSION + git describe)
#   make clean
#   V=1 shows the commands

CC       ?= cc
STRIP    ?= strip
BUILD    ?= build
SAN      ?=
V        ?=
Q        := $(if $(V),,@)

# CFLAGS, CPPFLAGS and LDFLAGS are the user's (make CFLAGS=-O0 replaces only
# the optimisation and debug flags). What the build needs - the language,
# warnings as errors, dependency files, hardening - is in WC_* and always
# used; the user's flags come after it, the sanitizer's last. Links get
# CFLAGS too (e.g. -flto).
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wvla -Wpointer-arith
WC_DEFS     := -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L
WC_CPPFLAGS := -I. $(WC_DEFS)
WC_CFLAGS   := -std=c11 $(WARN) -fstack-protector-strong -fPIE -MMD -MP
WC_LDFLAGS  := -pie -Wl,-z,relro,-z,now
SAN_CFLAGS  :=
ifeq ($(SAN),1)
SAN_CFLAGS  := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
WC_LDFLAGS  += -fsanitize=address,undefined
endif
# _FORTIFY_SOURCE only works when optimising: not with -O0 or no -O at all
# (glibc then warns, and warnings are errors). The last -O given wins.
WC_OPT   := $(lastword $(filter -O%,$(CFLAGS) $(SAN_CFLAGS)))
ifneq ($(filter-out -O0,$(WC_OPT)),)
WC_CPPFLAGS += -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
endif
ALL_CPPFLAGS = $(WC_CPPFLAGS) $(CPPFLAGS)
ALL_CFLAGS   = $(WC_CFLAGS) $(CFLAGS) $(SAN_CFLAGS)
ALL_LDFLAGS  = $(WC_LDFLAGS) $(LDFLAGS)
# FUZZ=1 (set by `make fuzz-build`, with CC=clang): every object gets
# libFuzzer's coverage instrumentation and ASan + UBSan.
ifeq ($(FUZZ),1)
SAN_CFLAGS  := -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
               -fno-sanitize-recover=all
WC_LDFLAGS  += -fsanitize=fuzzer,address,undefined
endif
# The version is decided in one place, scripts/version (VERSION, plus git
# describe in a checkout); `make WC_VERSION=1.2.3` overrides it. Only
# core/version.o gets it (-DWC_VERSION), rebuilt when it changes.
ifndef WC_VERSION
WC_VERSION := $(shell scripts/version)
endif
ifneq ($(words $(WC_VERSION)),1)
$(error scripts/version gave no usable version: '$(WC_VERSION)')
endif
LDLIBS   := -lcurl -lssl -lcrypto -lcjson -lyaml -lz -lexpat -lmicrohttpd -lpthread -lm

LIB_SRC  := $(sort $(wildcard core/*.c config/*.c aws/*.c notifiers/*.c store/*.c))
CMD_SRC  := $(sort $(wildcard cmd/*.c))
SUP_SRC  := $(sort $(wildcard tests/support/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CMD_OBJ  := $(CMD_SRC:%.c=$(BUILD)/obj/%.o)
SUP_OBJ  := $(SUP_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/%)
SUPLIB   := $(BUILD)/libwhochanged-support.a
LIB      := $(BUILD)/libwhochanged.a
# cmd/ modules other than main.c, so unit tests can link them too
CMDLIB_OBJ := $(filter-out $(BUILD)/obj/cmd/main.o,$(CMD_OBJ))
CMDLIB   := $(BUILD)/libwhochanged-cmd.a
BIN      := $(BUILD)/whochanged

.SECONDARY:
.PHONY: all test check tests deps demo bench evindex-bench lint install uninstall deb version clean fuzz \
        fuzz-build fuzz-bins FORCE
all: $(BIN)

# Rewritten only when the version changes, so that core/version.o (alone) is
# rebuilt then and only then.
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = '$(WC_VERSION)' ] || echo '$(WC_VERSION)' >$@
$(BUILD)/obj/core/version.o: $(BUILD)/version.stamp
$(BUILD)/obj/core/version.o: WC_CPPFLAGS += -DWC_VERSION='"$(WC_VERSION)"'

version:
	@echo $(WC_VERSION)

FORCE:

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(CMDLIB): $(CMDLIB_OBJ)
	@mkdir -p $(@D)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(BIN): $(CMD_OBJ) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(SUP_OBJ) $(CMDLIB) $(LIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(SUP_OBJ) $(CMDLIB) $(LIB) $(LDLIBS) -lcmocka

tests: $(BIN) $(UNIT_BIN)

# --- fuzzing (tests/fuzz/README.md) -------------------------------------------
FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build/fuzz

$(SUPLIB): $(SUP_OBJ)
	@mkdir -p $(@D)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/harness.o $(SUPLIB) \
                 $(CMDLIB) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/obj/tests/fuzz/harness.o $(SUPLIB) $(CMDLIB) $(LIB) \
	    $(LDLIBS)

fuzz-bins: $(FUZZ_BIN)

fuzz-build:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || \
	    { echo "make fuzz: $(FUZZ_CC) not found (scripts/deps installs clang)" >&2; exit 1; }
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) FUZZ=1 SAN= fuzz-bins

# FUZZ_SECONDS per target (60), FUZZ_TARGETS="notification events" to pick,
# FUZZ_MERGE=1 to merge what was found into tests/fuzz/corpus/.
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@scripts/fuzz $(FUZZ_BUILD)

deps:
	@scripts/deps

test: deps
	@$(MAKE) --no-print-directory tests
	@tests/run $(BUILD)

check: deps
	@$(MAKE) --no-print-directory BUILD=build/san SAN=1 tests
	@SAN=1 tests/run build/san

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench $(BUILD)

# The CloudTrail event stream's ingest (parse, filter, index) on one thread:
# events/s and the index's memory against its cap (tests/bench/evindex_bench.c).
# EVINDEX_BENCH_ARGS="-n 200000 --max-mib 64 --json" (--json: one JSON line).
EVINDEX_BENCH := $(BUILD)/evindex_bench
$(EVINDEX_BENCH): $(BUILD)/obj/tests/bench/evindex_bench.o $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

evindex-bench: $(EVINDEX_BENCH)
	@$(EVINDEX_BENCH) $(EVINDEX_BENCH_ARGS)

# Static analysis of the product code (CI runs it). variableScope is off: the
# style declares locals at the top of their block, zeroed. False positives go
# in scripts/cppcheck-suppressions.txt, each with its reason.
CPPCHECK ?= cppcheck
LINT_DIRS := core aws config notifiers store cmd
lint:
	@scripts/deps cppcheck
	$(Q)$(CPPCHECK) -q -j2 --std=c11 --language=c --library=posix -I. $(WC_DEFS) \
	    --enable=warning,style,performance,portability --suppress=variableScope \
	    --suppressions-list=scripts/cppcheck-suppressions.txt --inline-suppr \
	    --error-exitcode=1 --template='{file}:{line}: {severity} ({id}): {message}' $(LINT_DIRS)
	@echo "lint: cppcheck found nothing in $(LINT_DIRS)"

# --- installation (FHS; DESTDIR for staging, PREFIX for the tree) ------------
# make install [PREFIX=/usr/local] [DESTDIR=]: the stripped binary, the man
# page, the systemd unit, the example configuration and the documentation.
# SYSCONFDIR is /etc whatever the PREFIX, since /etc/whochanged/config.yaml
# is the binary's default --config; an existing config.yaml is never
# overwritten. The unit is installed with ExecStart= and Documentation=
# pointing at where the binary and the README went.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
DOCDIR     ?= $(DATADIR)/doc/whochanged
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
INSTALL    ?= install
MAN_PAGE   := doc/whochanged.1
DOC_FILES  := README.md
EXAMPLE_FILES := $(addprefix examples/,README.md config.yaml cloudformation.yaml \
                 org-central.yaml org-forwarder.yaml org-reader-role.yaml org-topic.yaml \
                 iam-policy.json iam-reader-policy.json iam-reader-trust-policy.json \
                 whochanged.service Dockerfile)
UNIT_SED   := -e 's|/usr/local/bin/whochanged|$(BINDIR)/whochanged|g' \
              -e 's|/usr/local/share/doc/whochanged|$(DOCDIR)|g'

install: $(BIN)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(SYSCONFDIR)/whochanged
	$(INSTALL) -m 0755 -s --strip-program=$(STRIP) $(BIN) $(DESTDIR)$(BINDIR)/whochanged
	$(INSTALL) -m 0644 $(MAN_PAGE) $(DESTDIR)$(MANDIR)/man1/whochanged.1
	sed $(UNIT_SED) examples/whochanged.service >$(DESTDIR)$(UNITDIR)/whochanged.service.tmp
	chmod 0644 $(DESTDIR)$(UNITDIR)/whochanged.service.tmp
	mv -f $(DESTDIR)$(UNITDIR)/whochanged.service.tmp $(DESTDIR)$(UNITDIR)/whochanged.service
	$(INSTALL) -m 0644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 0644 $(EXAMPLE_FILES) $(DESTDIR)$(DOCDIR)/examples/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/whochanged/config.yaml ]; then \
	    echo "  kept $(DESTDIR)$(SYSCONFDIR)/whochanged/config.yaml (the example is in $(DOCDIR)/examples)"; \
	else \
	    echo "$(INSTALL) -m 0644 examples/config.yaml $(DESTDIR)$(SYSCONFDIR)/whochanged/config.yaml"; \
	    $(INSTALL) -m 0644 examples/config.yaml $(DESTDIR)$(SYSCONFDIR)/whochanged/config.yaml; \
	fi

# Removes what install put there, except the configuration (yours by now):
# rm it by hand to purge.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/whochanged $(DESTDIR)$(MANDIR)/man1/whochanged.1 \
	    $(DESTDIR)$(UNITDIR)/whochanged.service
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(DOC_FILES)) \
	    $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(EXAMPLE_FILES)))
	rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	@echo "  kept $(DESTDIR)$(SYSCONFDIR)/whochanged/config.yaml"

# --- Debian package -------------------------------------------------------------
# make deb: build/whochanged_<version>_<arch>.deb from a tree staged by
# `make install` (PREFIX=/usr, the unit in /lib/systemd/system), with the
# dependencies dpkg-shlibdeps derives from the binary; then lintian when it
# is installed (apt-get install lintian). No debhelper needed.
DEB_ARCH    := $(shell dpkg --print-architecture 2>/dev/null)
DEB_STAGE   := $(BUILD)/deb/whochanged
DEB_FILE    := $(BUILD)/whochanged_$(WC_VERSION)_$(DEB_ARCH).deb
DEB_MAINTAINER ?= whochanged maintainers <whochanged@users.noreply.github.com>
LINTIAN     ?= lintian

deb: $(BIN)
	@command -v dpkg-deb >/dev/null || { echo "make deb: dpkg-deb not found (Debian only)" >&2; exit 1; }
	$(Q)rm -rf $(BUILD)/deb && mkdir -p $(DEB_STAGE)/DEBIAN
	$(Q)$(MAKE) --no-print-directory install DESTDIR=$(abspath $(DEB_STAGE)) PREFIX=/usr \
	    UNITDIR=/lib/systemd/system >/dev/null
	$(Q)WC_VERSION='$(WC_VERSION)' DEB_ARCH='$(DEB_ARCH)' DEB_MAINTAINER='$(DEB_MAINTAINER)' \
	    scripts/mkdeb $(DEB_STAGE) $(DEB_FILE)
	@if command -v $(LINTIAN) >/dev/null; then \
	    echo "  LINTIAN $(DEB_FILE)"; \
	    $(LINTIAN) --fail-on error,warning $(DEB_FILE); \
	else \
	    echo "make deb: lintian not installed, not checked (apt-get install lintian)"; \
	fi
	@echo "$(DEB_FILE)"

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
