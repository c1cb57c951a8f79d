# vp: a proxy toolkit of small Unix programs.
#
#   make                  build the programs into build/bin
#   make check            build, then run every test (unit + integration)
#   make check SANITIZE=1 the same under ASan + UBSan (separate build dir)
#   make install PREFIX=/usr DESTDIR=/tmp/stage
#   make lint             mandoc -Tlint on the man pages
#   make STATIC=1         statically linked programs (in build-static/)
#
# Local overrides go in config.mak.

-include config.mak

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
CC	?= cc

PKGS	 = libbsd-overlay libsodium zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN	 = -Wall -Wextra -Wpointer-arith -Wformat=2 -Wformat-security \
	   -Wimplicit-fallthrough -Wmissing-prototypes -Wshadow \
	   -Wno-unused-parameter
OPT	?= -O2 -g
STD	 = -std=gnu11
HARDEN	 = -fstack-protector-strong -D_FORTIFY_SOURCE=2

# STATIC=1 builds in its own directory (objects and binaries in build/
# would look up to date and stay dynamic); an explicit BUILD= still wins.
ifeq ($(STATIC),1)
BUILD	?= build-static
endif

ifeq ($(SANITIZE),1)
BUILD	?= build-san
OPT	 = -O1 -g -fno-omit-frame-pointer
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined
HARDEN	 =
else
BUILD	?= build
SANFLAGS =
endif

ALL_CPPFLAGS = -D_GNU_SOURCE -Ilibcommon $(PKG_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS   = $(STD) $(OPT) $(WARN) $(HARDEN) $(SANFLAGS) $(CFLAGS)
ALL_LDFLAGS  = $(SANFLAGS) $(LDFLAGS)
ALL_LIBS     = $(PKG_LIBS) $(LDLIBS) -pthread

# STATIC=1 links the programs statically: a per-connection process then
# maps no shared libraries (less memory per connection, faster exec).
# glibc warns that getaddrinfo still loads NSS modules at run time.
ifeq ($(STATIC),1)
ALL_LDFLAGS += -static
PKG_LIBS   := $(shell pkg-config --libs --static $(PKGS) 2>/dev/null)
endif

LIB_SRCS  := $(sort $(wildcard libcommon/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB	   = $(BUILD)/libcommon.a

PROGS	  := $(sort $(notdir $(wildcard cmd/vp-*)))
BINS	  := $(PROGS:%=$(BUILD)/bin/%)

UNIT_SRCS := $(sort $(wildcard tests/unit/check_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)

MANS	  := $(sort $(wildcard man/*.[1-9]))

.PHONY: all check unit integration install uninstall clean lint tools bench fuzz fuzz-run
all: $(BINS) $(TOOL_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# Each program is every .c in its cmd/ directory, linked against libcommon.
# Keep object files (they are intermediates of pattern rules).
.SECONDARY:
.SECONDEXPANSION:
$(BUILD)/bin/%: $$(addprefix $(BUILD)/,$$(subst .c,.o,$$(wildcard cmd/$$*/*.c))) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(ALL_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(CHECK_LIBS) $(ALL_LIBS)

$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(ALL_LIBS)

tools: $(TOOL_BINS)

# Fuzzing (clang + libFuzzer): every tests/fuzz/fuzz_*.c is a target linked
# against libcommon built with the fuzzer's instrumentation. `make check`
# runs each for FUZZ_SECONDS (short) when clang is present; for a long run:
#   make fuzz-run FUZZ_SECONDS=3600
FUZZ_CC	     ?= clang
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 3
FUZZ_FLAGS    = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	       -fno-sanitize-recover=undefined
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIBOBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
HAVE_FUZZ_CC := $(shell command -v $(FUZZ_CC) >/dev/null 2>&1 && echo yes)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CPPFLAGS) $(STD) $(WARN) $(FUZZ_FLAGS) \
	    -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/libcommon.a: $(FUZZ_LIBOBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libcommon.a
	$(FUZZ_CC) $(ALL_CPPFLAGS) $(STD) $(WARN) $(FUZZ_FLAGS) \
	    -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libcommon.a $(ALL_LIBS)

fuzz: $(FUZZ_BINS)

fuzz-run: $(FUZZ_BINS)
	@VP_FUZZ=$(CURDIR)/$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) \
	    VP_SANITIZE=$(SANITIZE) VP_BUILD=$(CURDIR)/$(BUILD) sh tests/run.sh --fuzz-only

ifeq ($(HAVE_FUZZ_CC)$(NOFUZZ),yes)
CHECK_FUZZ = $(FUZZ_BINS)
CHECK_FUZZ_ENV = VP_FUZZ=$(CURDIR)/$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS)
endif

check: all $(UNIT_BINS) $(CHECK_FUZZ)
	@$(CHECK_FUZZ_ENV) VP_SANITIZE=$(SANITIZE) VP_BUILD=$(CURDIR)/$(BUILD) sh tests/run.sh $(TESTS)

unit: $(UNIT_BINS)
	@VP_SANITIZE=$(SANITIZE) VP_BUILD=$(CURDIR)/$(BUILD) sh tests/run.sh --unit-only

integration: all
	@VP_SANITIZE=$(SANITIZE) VP_BUILD=$(CURDIR)/$(BUILD) sh tests/run.sh --integration-only $(TESTS)

bench: all
	@VP_BUILD=$(CURDIR)/$(BUILD) sh scripts/bench/run-all.sh

install: $(BINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	for m in $(MANS); do \
		s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; \
	done

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(BINDIR)/$$p; done
	for m in $(MANS); do \
		s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; \
	done

lint:
	mandoc -Tlint -W warning $(MANS)

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
