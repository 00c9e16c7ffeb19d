# The three commands a newcomer needs. Each installs what is missing first.
#   make run    build and start sotto-server on 127.0.0.1:7443, data in ./var
#   make demo   a scripted therapist/client exchange on a throw-away server
#   make test   build and run every test with ctest, then each libFuzzer
#               target briefly from its seed corpus (make unit-test skips it)
BUILD_DIR ?= build
JOBS ?= 2
LISTEN ?= 127.0.0.1:7443
DATA_DIR ?= ./var

.PHONY: all deps build run demo test unit-test test-sanitize fuzz-build fuzz-smoke fuzz clean

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

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer. UB is
# fatal (-fno-sanitize-recover) so a finding fails its test instead of only
# printing. Debian's libsignal/gRPC/RocksDB are not instrumented; that is fine.
SANITIZE_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp
test-sanitize: deps
	cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DSOTTO_SANITIZE=ON \
	  -DCMAKE_CXX_FLAGS=-fno-sanitize-recover=undefined \
	  -DCMAKE_C_FLAGS=-fno-sanitize-recover=undefined
	cmake --build build-sanitize -j$(JOBS)
	cd build-sanitize && $(SANITIZE_ENV) ctest --output-on-failure -j$(JOBS)

# libFuzzer targets (tests/fuzz/), in their own clang tree. fuzz-smoke runs
# each briefly from its seed corpus (CI); `make fuzz FUZZ_SECONDS=600` is the
# long run. Crashes land in build-fuzz/artifacts/.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 10
$(FUZZ_DIR)/CMakeCache.txt:
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSOTTO_FUZZ=ON -DBUILD_TESTING=OFF
fuzz-build: deps $(FUZZ_DIR)/CMakeCache.txt
	cmake --build $(FUZZ_DIR) -j$(JOBS) --target fuzz_all
fuzz-smoke: fuzz-build
	tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SMOKE_SECONDS)
fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD_DIR) build-sanitize $(FUZZ_DIR)

# Issue 14's size rule: lists source files over 600 lines and functions over
# 80 lines (scripts/check-size.sh). Report only, always exits 0; pass
# SIZE_CHECK_FLAGS=--strict to fail on an offender.
.PHONY: size-check
size-check:
	./scripts/check-size.sh $(SIZE_CHECK_FLAGS)
