# The three commands a newcomer needs. Each installs what is missing first.
#   make run    build and start sotto-server on 127.0.0.1:7443, data in ./var
#   make demo   a scripted therapist/client exchange on a throw-away server
#   make test   build and run every test with ctest
BUILD_DIR ?= build
JOBS ?= 2
LISTEN ?= 127.0.0.1:7443
DATA_DIR ?= ./var

.PHONY: all deps build run demo test test-sanitize clean

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

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

test-sanitize: deps
	cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DSOTTO_SANITIZE=ON
	cmake --build build-sanitize -j$(JOBS)
	cd build-sanitize && ctest --output-on-failure -j$(JOBS)

clean:
	rm -rf $(BUILD_DIR) build-sanitize
