# aggregate - build, run, test.
#
#   make run     install what is missing, build, run conf/providers.conf
#   make test    install what is missing, build, run the whole suite twice:
#                once as built, once under AddressSanitizer + UBSan; and
#                the end-to-end tests against the release build
#   make         just build ./aggregate
#   make fuzz    build the libFuzzer targets with clang and run each for
#                FUZZ_TIME seconds (default 60); see fuzz/ and docs/design.md
#   make valgrind  the ring and fork tests and a small run under valgrind
#   make check-includes  each folder includes only from the folders below it
#   make bench   install the peers, run bench/ against them (QUICK=1: 1 M rows)

CC       ?= gcc
PKGS     := inih jansson zlib sqlite3 libpq libcurl
PREFIX   ?= /usr/local

WARN     := -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes -Wvla
# libpq and libcurl are loaded on first use (common/libload.c): their
# headers come from pkg-config, their sonames from the libraries it names,
# and the program is not linked against them.
DLPKGS   := libpq libcurl
soname    = $(shell objdump -p $$(pkg-config --variable=libdir $(1))/$(2).so \
	      2>/dev/null | sed -n 's/^ *SONAME *//p')
PQ_SONAME   := $(call soname,libpq,libpq)
CURL_SONAME := $(call soname,libcurl,libcurl)
BASEFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -g $(shell pkg-config --cflags $(PKGS)) \
	    $(if $(PQ_SONAME),-DLIBLOAD_PQ_SONAME='"$(PQ_SONAME)"') \
	    $(if $(CURL_SONAME),-DLIBLOAD_CURL_SONAME='"$(CURL_SONAME)"')
LIBS      = $(shell pkg-config --libs $(filter-out $(DLPKGS),$(PKGS))) -ldl -lm -pthread
TESTLIBS  = $(shell pkg-config --libs criterion)

# The folders are floors (docs/design.md): ipc and common at the bottom,
# providers and aggregator above them, supervisor on top.
DIRS     := ipc common providers aggregator supervisor
SRC      := $(sort $(foreach d,$(DIRS),$(wildcard $(d)/*.c)))
LIBSRC   := $(filter-out supervisor/main.c,$(SRC))
TESTSRC  := $(sort $(wildcard tests/test_*.c))
HELPSRC  := $(sort $(wildcard tests/helpers/*.c))
HDRS     := $(foreach d,$(DIRS),$(wildcard $(d)/*.h)) \
            $(wildcard tests/*.h tests/helpers/*.h)

# Three builds of the same sources, each in its own folder:
#   build/rel   the program users run
#   build/test  with test-only hooks (fault injection), optimised
#   build/asan  with test-only hooks, AddressSanitizer and UBSan
REL_CFLAGS  := -O2
TEST_CFLAGS := -O2 -DAGG_TESTING
ASAN_CFLAGS := -O1 -DAGG_TESTING -fsanitize=address,undefined \
               -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Fuzz targets: fuzz/fuzz_NAME.c, seeds in fuzz/corpus/NAME, saved crash
# inputs in fuzz/regressions/NAME.
FUZZ_TARGETS := config csv json convert frame decimal fsum tsfmt expr jsonarray jfast \
		encoding
FUZZ_TIME    ?= 60
FUZZ_CC      ?= clang
FUZZ_CFLAGS  := -O1 -DAGG_TESTING -fno-omit-frame-pointer \
                -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=undefined

.PHONY: all deps peer-suites run test test-unit test-asan test-fuzz-replay clean install \
	bench chaos fuzz fuzz-deps valgrind check-includes

all: aggregate

deps:
	@sh scripts/deps.sh

# Peers' test suites the tests compare against (csv-spectrum), fetched once.
peer-suites:
	@sh scripts/peer-suites.sh

aggregate: build/rel/aggregate
	cp $< $@

define build_rules
build/$(1)/%.o: %.c $(HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(BASEFLAGS) $(2) -c $$< -o $$@

build/$(1)/aggregate: $$(SRC:%.c=build/$(1)/%.o)
	$$(CC) $(2) -o $$@ $$^ $$(LIBS)

build/$(1)/tests/%: build/$(1)/tests/%.o $$(LIBSRC:%.c=build/$(1)/%.o) $$(HELPSRC:%.c=build/$(1)/%.o)
	$$(CC) $(2) -o $$@ $$^ $$(LIBS) $$(TESTLIBS)

$(1)-tests: build/$(1)/aggregate $$(TESTSRC:%.c=build/$(1)/%)

# The library as an archive: a fuzz target that includes one of its .c
# files (to reach static functions) then links only the other members.
build/$(1)/libagg.a: $$(LIBSRC:%.c=build/$(1)/%.o)
	rm -f $$@
	ar rcs $$@ $$^

build/$(1)/fuzz/%.o: fuzz/%.c $$(SRC) $$(HDRS) $$(HELPSRC)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(BASEFLAGS) $(2) -c $$< -o $$@

# A fuzz target with a plain main() that replays saved inputs (fuzz/replay.c).
build/$(1)/fuzz/replay_%: build/$(1)/fuzz/fuzz_%.o build/$(1)/fuzz/replay.o build/$(1)/libagg.a
	$$(CC) $(2) -o $$@ $$^ $$(LIBS)
endef
$(eval $(call build_rules,rel,$(REL_CFLAGS)))
$(eval $(call build_rules,test,$(TEST_CFLAGS)))
$(eval $(call build_rules,asan,$(ASAN_CFLAGS)))
.SECONDARY:

run: deps aggregate
	@sh scripts/run-demo.sh

# Each suite runs every test binary with the matching aggregate binary;
# the end-to-end programs (they run the binary, and skip the tests that
# need the test build's hooks) run again against the release build, the
# program users get.
E2E_TESTS := test_e2e test_cli test_dbout test_hostile test_ops test_secrets test_sup \
	test_types test_post test_aggs test_trace test_shard test_slurm test_incr \
	test_parallel test_filtered test_pushdown test_combine

test: deps
	$(MAKE) test-unit
	$(MAKE) test-asan

test-unit: check-includes peer-suites test-tests build/rel/aggregate
	@sh scripts/run-tests.sh build/test
	@sh scripts/run-tests.sh -b build/rel/aggregate build/test $(E2E_TESTS)
	@sh scripts/chaos.sh -n 4 -s 1 build/test/aggregate
	@sh scripts/valgrind.sh build/test short

# Each folder includes only from the folders below it (scripts/check-includes.sh).
check-includes:
	@sh scripts/check-includes.sh

# Random kills of random providers; every output must match a clean run's.
ITER ?= 50
SEED ?= 1
chaos: test-tests
	@sh scripts/chaos.sh -n $(ITER) -s $(SEED) build/test/aggregate

# The ring's unit tests and end-to-end runs under valgrind (about a minute).
valgrind: deps test-tests
	@sh scripts/valgrind.sh build/test

test-asan: peer-suites asan-tests test-fuzz-replay
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 AGG_TEST_SCALE=asan sh scripts/run-tests.sh build/asan

# Every seed and every saved crash input, through each fuzz target built
# with gcc under ASan + UBSan: no clang needed.
test-fuzz-replay: $(FUZZ_TARGETS:%=build/asan/fuzz/replay_%)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 sh scripts/fuzz-replay.sh build/asan $(FUZZ_TARGETS)

# libFuzzer builds (clang), in build/fuzz.
build/fuzz/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(BASEFLAGS) $(FUZZ_CFLAGS) -c $< -o $@

build/fuzz/fuzz/%.o: fuzz/%.c $(SRC) $(HDRS) $(HELPSRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(BASEFLAGS) $(FUZZ_CFLAGS) -c $< -o $@

build/fuzz/libagg.a: $(LIBSRC:%.c=build/fuzz/%.o)
	rm -f $@
	ar rcs $@ $^

build/fuzz/fuzz_%: build/fuzz/fuzz/fuzz_%.o build/fuzz/libagg.a
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)

fuzz: fuzz-deps
	$(MAKE) $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
	@sh scripts/fuzz.sh $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz-deps:
	@sh scripts/deps.sh fuzz

# Speed against peers and targets (bench/run.sh); QUICK=1 for a short run.
bench:
	@sh bench/run.sh $(if $(QUICK),--quick)

build/bench/ringbench: bench/ringbench.c build/rel/ipc/ring.o build/rel/ipc/shm.o $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(REL_CFLAGS) -o $@ $< build/rel/ipc/ring.o build/rel/ipc/shm.o

build/bench/peakrun: bench/peakrun.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(REL_CFLAGS) -o $@ $<

# make install [PREFIX=/usr/local] [DESTDIR=] [BIN=aggregate]: the program
# and its man page (BIN: another build of it, e.g. the tests install theirs).
BIN      ?= aggregate
MANDIR   ?= $(PREFIX)/share/man

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/aggregate
	install -m 644 docs/aggregate.1 $(DESTDIR)$(MANDIR)/man1/aggregate.1

clean:
	rm -rf build aggregate
