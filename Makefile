# kiroku - the two commands: `make run` and `make test`. Both install what is missing.
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
# The storage-labelled test binaries (engine, recovery, faults, crash loop, subscriptions).
ASAN_TARGETS = common_test store_test concurrency_test recovery_test corruption_test fault_test \
  catch_up_reader_test crash_loop_test crash_writer snapshot_test consumer_group_test

.PHONY: deps build run serve demo test test-asan bench bench-server soak format clean

deps:
	@bash scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt
	cmake -G Ninja -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Starts kiroku on ./data/events with the study-log projections and the studylog example
# service in front (examples/studylog), loads a sample on the first run, prints what to
# try. Ctrl-C stops both cleanly; the data in ./data is kept.
run: build
	bash examples/studylog/run.sh $(BUILD_DIR)

# Just the server on ./data/events, no example.
serve: build
	$(BUILD_DIR)/kiroku serve --data ./data/events

# A short walk through the embedded store (no server), in ./demo-data.
demo: build
	$(BUILD_DIR)/kiroku demo --data ./demo-data

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900
	$(MAKE) test-asan

# The storage tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -G Ninja -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DKIROKU_SANITIZE=address,undefined
	cmake --build $(ASAN_DIR) -j $(JOBS) --target $(ASAN_TARGETS)
	cd $(ASAN_DIR) && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ASAN_OPTIONS=detect_leaks=1 KIROKU_CRASH_ROUNDS=10 \
	  ctest --output-on-failure -j $(JOBS) -L storage --timeout 900

bench: build
	$(BUILD_DIR)/kiroku-bench --data ./bench-data
	$(BUILD_DIR)/kiroku-aggregate-bench --data ./bench-data-aggregate --kiroku $(BUILD_DIR)/kiroku
	$(MAKE) bench-server
	$(MAKE) bench-groups
	$(MAKE) bench-projections
	$(MAKE) bench-studylog

# Projection rebuild (SQLite, PostgreSQL) vs batch SQL, and live lag, on 10M events.
.PHONY: bench-projections
bench-projections: build
	bash bench/projection_bench.sh $(BUILD_DIR)/kiroku-projection-bench

# The study-log example at 1M learners, 10k groups, 50M lessons: generate, rebuild the read
# model, then page latency (read model vs naive) and freshness under 2k commands/s
# (examples/studylog/bench/run.sh; STUDYLOG_BENCH_* scale it down).
.PHONY: bench-studylog
bench-studylog: build
	bash examples/studylog/bench/run.sh $(BUILD_DIR)

# Consumer groups: 4 members acking 1M events, and redelivery after a member dies.
.PHONY: bench-groups
bench-groups: build
	bash bench/group_bench.sh $(BUILD_DIR)/kiroku $(BUILD_DIR)/kiroku-group-bench

# kiroku (embedded and over gRPC) next to PostgreSQL, NATS JetStream and Redis on the same
# workloads, interleaved and repeated, one table (bench/peers/run.sh installs and starts the
# peers). Builds only the two binaries it runs, so a fresh machine finishes in ~20 minutes.
.PHONY: bench-peers
bench-peers: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target kiroku kiroku-peer-bench
	bash bench/peers/run.sh $(BUILD_DIR)

# The server over gRPC: a private `kiroku serve` on free ports, the load generator, stop.
bench-server: build
	bash bench/server_bench.sh $(BUILD_DIR)/kiroku

# A longer crash loop than the one in `make test`.
soak: build
	cd $(BUILD_DIR) && KIROKU_CRASH_ROUNDS=1000 ctest --output-on-failure -L crash --timeout 7200

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
