# aggregate - build, run, test.
#
#   make run     install what is missing, build, run conf/providers.conf
#   make test    install what is missing, build, run the whole suite twice:
#                once as built, once under AddressSanitizer + UBSan
#   make         just build ./aggregate
#   make bench   install the peers, run bench/ against them (QUICK=1: 1 M rows)

CC       ?= gcc
PKGS     := inih jansson zlib sqlite3 libpq libcurl
PREFIX   ?= /usr/local

WARN     := -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes -Wvla
BASEFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -g $(shell pkg-config --cflags $(PKGS))
LIBS      = $(shell pkg-config --libs $(PKGS)) -lm
TESTLIBS  = $(shell pkg-config --libs criterion)

SRC      := $(sort $(wildcard aggregator/*.c ipc/*.c providers/*.c))
LIBSRC   := $(filter-out aggregator/main.c,$(SRC))
TESTSRC  := $(sort $(wildcard tests/test_*.c))
HELPSRC  := $(sort $(wildcard tests/helpers/*.c))
HDRS     := $(wildcard aggregator/*.h ipc/*.h providers/*.h tests/*.h tests/helpers/*.h)

# Three builds of the same sources, each in its own folder:
#   build/rel   the program users run
#   build/test  with test-only hooks (fault injection), optimised
#   build/asan  with test-only hooks, AddressSanitizer and UBSan
REL_CFLAGS  := -O2
TEST_CFLAGS := -O2 -DAGG_TESTING
ASAN_CFLAGS := -O1 -DAGG_TESTING -fsanitize=address,undefined \
               -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all deps run test test-unit test-asan clean install bench chaos fuzz

all: aggregate

deps:
	@sh scripts/deps.sh

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
endef
$(eval $(call build_rules,rel,$(REL_CFLAGS)))
$(eval $(call build_rules,test,$(TEST_CFLAGS)))
$(eval $(call build_rules,asan,$(ASAN_CFLAGS)))
.SECONDARY:

run: deps aggregate
	@sh scripts/run-demo.sh

# Each suite runs every test binary with the matching aggregate binary.
test: deps
	$(MAKE) test-unit
	$(MAKE) test-asan

test-unit: test-tests
	@sh scripts/run-tests.sh build/test

test-asan: asan-tests
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 AGG_TEST_SCALE=asan sh scripts/run-tests.sh build/asan

# Speed against peers and targets (bench/run.sh); QUICK=1 for a short run.
bench:
	@sh bench/run.sh $(if $(QUICK),--quick)

build/bench/ringbench: bench/ringbench.c build/rel/ipc/ring.o build/rel/ipc/shm.o $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(REL_CFLAGS) -o $@ $< build/rel/ipc/ring.o build/rel/ipc/shm.o

install: aggregate
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 aggregate $(DESTDIR)$(PREFIX)/bin/aggregate
	install -m 644 docs/aggregate.1 $(DESTDIR)$(PREFIX)/share/man/man1/aggregate.1

clean:
	rm -rf build aggregate
