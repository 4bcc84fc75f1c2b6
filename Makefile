# kiroku - the two commands: `make run` and `make test`. Both install what is missing.
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: deps build run test test-asan bench soak format clean

deps:
	@bash scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt
	cmake -G Ninja -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Until the server exists: a short demonstration against an embedded store in ./data.
run: build
	$(BUILD_DIR)/kiroku demo --data ./data

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900
	$(MAKE) test-asan

# The storage tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -G Ninja -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DKIROKU_SANITIZE=address,undefined
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ASAN_OPTIONS=detect_leaks=1 KIROKU_CRASH_ROUNDS=10 \
	  ctest --output-on-failure -j $(JOBS) -L storage --timeout 900

bench: build
	$(BUILD_DIR)/kiroku-bench --data ./bench-data

# A longer crash loop than the one in `make test`.
soak: build
	cd $(BUILD_DIR) && KIROKU_CRASH_ROUNDS=1000 ctest --output-on-failure -L crash --timeout 7200

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
