# tdl: the two commands.
#   make         set up (Debian packages), build libtdl and build/tdl, run the
#                main job on the built-in default input
#   make check   set up, build, run every test, then again under ASan+UBSan, and
#                the serving path's threads test under ThreadSanitizer
# Other targets: build, test, test-sanitize, test-tsan, bench, fixtures, clean.

JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all setup build build-sanitize build-tsan demo check test test-sanitize test-tsan bench fixtures fuzz clean

all: build demo

setup:
	@sh scripts/setup.sh

build: setup
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS)

build-sanitize: setup
	@cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTDL_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-sanitize -j $(JOBS)

# The main job: train a decision-focused predictor on the built-in training
# workload (synth:conversation) and print its regret table on shifted
# synthetic workloads. Point it at real traces with TRAIN= and TEST= (see
# scripts/demo.sh; e.g. make demo TRAIN=../shared/data/azure/23V.csv
# TEST="../shared/data/azure/23V.csv ../shared/data/azure/24D.csv").
demo: build
	@TRAIN="$(TRAIN)" TEST="$(TEST)" EPOCHS="$(EPOCHS)" LR="$(LR)" sh scripts/demo.sh

check: build build-sanitize build-tsan
	@sh scripts/check.sh

test: build
	@cd build && ctest --output-on-failure

test-sanitize: build-sanitize
	@cd build-sanitize && ctest --output-on-failure

# The serving path under ThreadSanitizer: 4 threads on 4 provisioner handles
# (tests/test_provisioner.c), in build-tsan/.
build-tsan: setup
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTDL_TSAN=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-tsan -j $(JOBS) --target test_provisioner

test-tsan: build-tsan
	@cd build-tsan && TSAN_OPTIONS="halt_on_error=1 $(TSAN_OPTIONS)" ctest --output-on-failure -R test_provisioner_threads

bench: build
	@sh bench/run.sh

# Regenerate tests/fixtures/*.safetensors with PyTorch (Debian's python3-torch).
fixtures:
	@sh scripts/setup.sh --with-torch
	@/usr/bin/python3 tools/gen_fixtures.py tests/fixtures

clean:
	rm -rf build build-sanitize build-tsan build-fuzz

# libFuzzer targets (clang) for every reader: safetensors, CSV series, request
# logs, the CLI's JSON strings (any bytes of a path to valid JSON), a predictor
# model file as serving reads it (metadata, provisioner). `make fuzz` builds
# them and runs each for FUZZ_RUNS executions,
# seeded with the committed fixtures and test files.
FUZZ_RUNS ?= 1000000
OPENBLAS_INC ?= /usr/include/x86_64-linux-gnu/openblas-openmp
OPENBLAS_LIB ?= /usr/lib/x86_64-linux-gnu/openblas-openmp
FUZZ_CC = clang -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=all -Iinclude
fuzz:
	@sh scripts/setup.sh --with-fuzz
	@mkdir -p build-fuzz/corpus build-fuzz/corpus-csv build-fuzz/corpus-slots build-fuzz/corpus-json
	@cp tests/fixtures/*.safetensors build-fuzz/corpus/ 2>/dev/null || true
	@for f in tests/data/*.csv tests/data/bad/*.csv; do \
	  printf '\000' | cat - "$$f" >"build-fuzz/corpus-csv/$$(basename $$f)"; \
	  printf '\000' | cat - "$$f" >"build-fuzz/corpus-slots/$$(basename $$f)"; done
	$(FUZZ_CC) fuzz/fuzz_safetensors.c src/core/safetensors.c src/core/atomic_file.c src/core/status.c \
	  -ljansson -o build-fuzz/fuzz_safetensors
	$(FUZZ_CC) fuzz/fuzz_csv.c src/data/csv.c src/data/series.c src/core/status.c \
	  -lcsv -lm -o build-fuzz/fuzz_csv
	$(FUZZ_CC) fuzz/fuzz_slots.c src/data/slots.c src/data/csv.c src/data/series.c \
	  src/core/atomic_file.c src/core/status.c -lcsv -lm -o build-fuzz/fuzz_slots
	./build-fuzz/fuzz_safetensors -runs=$(FUZZ_RUNS) -max_len=4096 build-fuzz/corpus
	./build-fuzz/fuzz_csv -runs=$(FUZZ_RUNS) -max_len=4096 -dict=fuzz/csv.dict build-fuzz/corpus-csv
	./build-fuzz/fuzz_slots -runs=$(FUZZ_RUNS) -max_len=4096 -dict=fuzz/csv.dict build-fuzz/corpus-slots
	$(FUZZ_CC) -Isrc/cli fuzz/fuzz_json_text.c src/cli/json_out.c -ljansson \
	  -o build-fuzz/fuzz_json_text
	./build-fuzz/fuzz_json_text -runs=$(FUZZ_RUNS) -max_len=512 build-fuzz/corpus-json
	@mkdir -p build-fuzz/corpus-predictor
	@cp fuzz/seeds/predictor_tiny.safetensors build-fuzz/corpus-predictor/
	$(FUZZ_CC) -I$(OPENBLAS_INC) fuzz/fuzz_predictor.c src/models/predictor.c \
	  src/models/predictor_stream.c src/serve/provisioner.c src/core/params.c \
	  src/core/safetensors.c src/core/atomic_file.c src/core/status.c src/core/rng.c \
	  src/task/provision.c src/task/provision_rule.c src/data/series_rows.c src/nn/lstm.c \
	  src/nn/layernorm.c src/nn/activation.c -ljansson -lm -L$(OPENBLAS_LIB) -lopenblas -lgomp \
	  -o build-fuzz/fuzz_predictor
	./build-fuzz/fuzz_predictor -runs=$(FUZZ_RUNS) -max_len=4096 build-fuzz/corpus-predictor
