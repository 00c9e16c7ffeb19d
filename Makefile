# The three commands a newcomer needs. Each installs what is missing first.
#   make run    build and start sotto-server on 127.0.0.1:7443, data in ./var
#   make demo   a scripted therapist/client exchange on a throw-away server
#   make test   build and run every test with ctest, then each libFuzzer
#               target briefly from its seed corpus (make unit-test skips it)
BUILD_DIR ?= build
JOBS ?= 2
LISTEN ?= 127.0.0.1:7443
DATA_DIR ?= ./var

.PHONY: all deps build run demo test unit-test reliability test-sanitize fuzz-build fuzz-smoke fuzz lint tidy format-check clean

all: build

deps:
	./scripts/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	mkdir -p $(DATA_DIR)
	$(BUILD_DIR)/server/sotto-server --data-dir $(DATA_DIR) --listen $(LISTEN)

demo: build
	./scripts/demo.sh $(BUILD_DIR)

# The fuzz smoke is part of `make test` (issue 4: "each runs briefly in make
# test"); unit-test is the ctest half alone, for the edit-compile loop.
test: unit-test fuzz-smoke

unit-test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

# The reliability suite's long forms (tests/reliability/, docs/RELIABILITY.md):
# e.g. 100 SIGKILLs under load. Their short forms run in `make test`. Serial:
# each measures the machine it has.
reliability: build
	cd $(BUILD_DIR) && SOTTO_RELIABILITY_LONG=1 ctest -L reliability --output-on-failure -V

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer. UB is
# fatal (-fno-sanitize-recover) so a finding fails its test instead of only
# printing. Debian's libsignal/gRPC/RocksDB are not instrumented; that is fine.
# The reliability suite (ctest label `reliability`: SIGKILLs, a full disk,
# floods at a low descriptor limit) is left out here: it runs in `make test`,
# and under ASan its timing (latency under a flood, a restart on a full disk)
# measures the sanitizer, while costing CI minutes it does not have.
SANITIZE_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp
test-sanitize: deps
	cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DSOTTO_SANITIZE=ON \
	  -DCMAKE_CXX_FLAGS=-fno-sanitize-recover=undefined \
	  -DCMAKE_C_FLAGS=-fno-sanitize-recover=undefined
	cmake --build build-sanitize -j$(JOBS)
	cd build-sanitize && $(SANITIZE_ENV) ctest --output-on-failure -j$(JOBS) -LE reliability

# libFuzzer targets (tests/fuzz/), in their own clang tree. fuzz-smoke runs
# each briefly from its seed corpus (CI); `make fuzz FUZZ_SECONDS=600` is the
# long run. Crashes land in build-fuzz/artifacts/.
# The same tree also builds sotto-server and sotto, so that every library and
# binary of ours is compiled by clang with -Wthread-safety -Werror (the
# ABSL_GUARDED_BY annotations are checked, top-level CMakeLists.txt). Most of
# their libraries are built for the fuzzers anyway; the 15 other files cost
# ~145 s of CPU (measured: client.cc 21 s, server/main.cc 41 s, cli/main.cc
# 39 s), about 1.5 minutes more for `make test` at -j2.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 10
$(FUZZ_DIR)/CMakeCache.txt:
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSOTTO_FUZZ=ON -DBUILD_TESTING=OFF
fuzz-build: deps $(FUZZ_DIR)/CMakeCache.txt
	cmake --build $(FUZZ_DIR) -j$(JOBS) --target fuzz_all sotto-server sotto
fuzz-smoke: fuzz-build
	tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SMOKE_SECONDS)
fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# make lint: clang-tidy with .clang-tidy (a few checks that find real bugs; a
# finding fails) over every translation unit of ours in $(BUILD_DIR)'s
# compile_commands.json, then clang-format --dry-run over our sources
# (.clang-format). Tidy needs the generated protobuf headers, hence the build
# of the two proto libraries first. Roughly 8 s of CPU per file, ~15 minutes
# for the ~100 files on a quiet 2-core machine; not part of `make test`.
LINT_SOURCES = ^$(CURDIR)/(server|client-lib|cli|common|bench|tests)/
lint: tidy format-check
tidy: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS) --target sotto_proto sotto_content_proto
	run-clang-tidy-14 -quiet -p $(BUILD_DIR) -j$(JOBS) '$(LINT_SOURCES)'
format-check:
	git ls-files '*.cc' '*.h' | xargs clang-format-14 --dry-run --Werror

clean:
	rm -rf $(BUILD_DIR) build-sanitize $(FUZZ_DIR)

# Issue 14's size rule: lists source files over 600 lines and functions over
# 80 lines (scripts/check-size.sh). Report only, always exits 0; pass
# SIZE_CHECK_FLAGS=--strict to fail on an offender.
.PHONY: size-check
size-check:
	./scripts/check-size.sh $(SIZE_CHECK_FLAGS)

# Issue 15: the Debian packages libsotto1, libsotto-dev, sotto and
# sotto-server (cmake/SottoPackaging.cmake), from $(BUILD_DIR), into
# $(BUILD_DIR)/*.deb. Dependencies on Debian's libraries come from
# dpkg-shlibdeps. Check one with dpkg-deb -I / -c.
.PHONY: deb
deb: build
	cd $(BUILD_DIR) && cpack -G DEB
