# The front door. `make run` and `make test` are the README's quick start.
BUILD_TYPE ?= Release
BUILD_DIR  ?= build/release
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
CTEST_ARGS ?=

.PHONY: all deps deps-test build build-test run test test-only asan tsan test-asan test-tsan fuzz install bench bench-load format clean

all: build

# What building and running the server needs (scripts/install-deps.sh run),
# and what the tests, fuzzers and benchmarks need on top (... test).
deps:
	@scripts/install-deps.sh run
deps-test:
	@scripts/install-deps.sh test

# A new build directory is configured without the tests and benchmarks
# (GoogleTest, Google Benchmark, Node: make run does not install them);
# make test configures it with them, and it keeps them from then on.
CONFIGURE = cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)
SERVER_ONLY = $(if $(wildcard $(BUILD_DIR)/CMakeCache.txt),,-DNSELF_BUILD_TESTS=OFF -DNSELF_BUILD_BENCH=OFF)

build: deps
	@$(CONFIGURE) $(SERVER_ONLY) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

build-test: deps-test
	@$(CONFIGURE) -DNSELF_BUILD_TESTS=ON -DNSELF_BUILD_BENCH=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Installs what running needs, builds the server, initialises the project on
# its first run, and starts the server in the foreground on the embedded
# SQLite store.
run: deps
	@$(CONFIGURE) $(SERVER_ONLY) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target nself
	@scripts/run.sh $(BUILD_DIR)/nself

# Every test: unit and integration, against a real PostgreSQL (and Redis)
# started in a temporary directory by scripts/test-env.sh and removed after.
test: build-test
	@scripts/test-env.sh ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) $(CTEST_ARGS)
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_TEST_SECONDS)

# libFuzzer targets (tests/fuzz) built with clang, ASan and UBSan in build/fuzz,
# each run for FUZZ_SECONDS from its seed corpus (tests/fuzz/corpus/<target>).
# `make test` runs them too, for FUZZ_TEST_SECONDS each (two at a time).
FUZZ_SECONDS      ?= 60
FUZZ_TEST_SECONDS ?= 45
fuzz:
	@CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DNSELF_FUZZ=ON -DNSELF_BUILD_TESTS=OFF -DNSELF_BUILD_BENCH=OFF -DNSELF_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	@cmake --build build/fuzz -j $(JOBS) --target nself_fuzzers
	@ctest --test-dir build/fuzz --output-on-failure -j $(JOBS) -L fuzz

# Sanitizers (.ci/run runs both after `make test`; docs/OPERATIONS.md,
# "Sanitizers"). Both are Debug builds: asserts stay on, and -O0 compiles in
# half the time of -O1 while the suites wait on sockets more than they compute.
# scripts/test-sanitized.sh makes every report fatal and fails the run when any
# process (a test, a server it started, a backgrounded server) wrote one.
ASAN_DIR ?= build/asan
TSAN_DIR ?= build/tsan

# Every unit and integration suite (the Node tests and the bench smoke tests
# then start the ASan binary) under AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer. Not the fuzzers: `make test` runs those.
test-asan: deps-test
	@cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug '-DNSELF_SANITIZE=address;undefined' >/dev/null
	@cmake --build $(ASAN_DIR) -j $(JOBS)
	@scripts/test-sanitized.sh address $(ASAN_DIR) -j $(JOBS) $(CTEST_ARGS)

# The concurrent suites (CTest label "concurrent", tests/CMakeLists.txt: the
# in-process servers, store worker, stores, cluster, API, and the Node tests
# that start the real multi-loop binary) under ThreadSanitizer.
test-tsan: deps-test
	@cmake -S . -B $(TSAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DNSELF_SANITIZE=thread >/dev/null
	@cmake --build $(TSAN_DIR) -j $(JOBS) --target nself_concurrent_tests
	@scripts/test-sanitized.sh thread $(TSAN_DIR) -j $(JOBS) -L concurrent $(CTEST_ARGS)

asan: test-asan
tsan: test-tsan

# The real benchmark runs (Release build): the codec micro-benchmarks, then
# every load-generator scenario at real size (bench-load, about 15 minutes).
# Figures go to docs/BENCHMARKS.md.
bench: build-test
	@$(BUILD_DIR)/bench/codec_benchmark
	@scripts/bench-load.sh $(BUILD_DIR)

# The load generator at real sizes (idle 5k/10k/19k, fan-out 1k/5k/10k, chat
# 1k x 10, churn, persist on SQLite), each against its own spawned Release
# server; about 15 minutes. Figures go to docs/BENCHMARKS.md.
bench-load: build-test
	@scripts/bench-load.sh $(BUILD_DIR)

# nself side by side with its peers (uWebSockets.js, ws, Socket.IO, nginx +
# nchan) in one run, one table of figures and ratios (bench/compare.sh;
# COMPARE_QUICK=1 for a short run). Figures go to docs/BENCHMARKS.md, "Peers".
.PHONY: compare
compare: build-test
	@bench/peers/install.sh
	@bench/compare.sh $(BUILD_DIR)

install: build
	@cmake --install $(BUILD_DIR) --prefix /usr/local

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	@rm -rf build
