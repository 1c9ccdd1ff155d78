# tdl: the two commands.
#   make         set up (Debian packages), build libtdl and build/tdl, run the
#                main job on the built-in default input
#   make check   set up, build, run every test, then again under ASan+UBSan
# Other targets: build, test, test-sanitize, bench, fixtures, clean.

JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all setup build build-sanitize demo check test test-sanitize bench fixtures fuzz clean

all: build demo

setup:
	@sh scripts/setup.sh

build: setup
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS)

build-sanitize: setup
	@cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTDL_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-sanitize -j $(JOBS)

# The main job for now: show what this build is and can do.
demo: build
	@./build/tdl --version
	@./build/tdl info

check: build build-sanitize
	@sh scripts/check.sh

test: build
	@cd build && ctest --output-on-failure

test-sanitize: build-sanitize
	@cd build-sanitize && ctest --output-on-failure

bench: build
	@sh bench/run.sh

# Regenerate tests/fixtures/*.safetensors with PyTorch (Debian's python3-torch).
fixtures:
	@sh scripts/setup.sh --with-torch
	@/usr/bin/python3 tools/gen_fixtures.py tests/fixtures

clean:
	rm -rf build build-sanitize build-fuzz

# libFuzzer target for the safetensors reader (clang): FUZZ_RUNS executions,
# seeded with the committed fixtures.
FUZZ_RUNS ?= 1000000
fuzz: setup
	@mkdir -p build-fuzz/corpus
	@cp tests/fixtures/*.safetensors build-fuzz/corpus/ 2>/dev/null || true
	clang -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -fsanitize=fuzzer,address,undefined \
	  -Iinclude fuzz/fuzz_safetensors.c src/core/safetensors.c src/core/status.c \
	  -ljansson -o build-fuzz/fuzz_safetensors
	./build-fuzz/fuzz_safetensors -runs=$(FUZZ_RUNS) -max_len=4096 build-fuzz/corpus
