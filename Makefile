# Thin wrapper over CMake: the README's commands.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local
MAKEFLAGS += --no-print-directory

.PHONY: all deps build asan test unit-asan demo bench lint format install clean lambda-zip

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMC_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# Every test in the normal build, then the unit and CLI tests again under
# ASan+UBSan.
test: build asan
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)/milkcast

bench: build
	@scripts/bench.sh $(BUILD)

lint: build
	@scripts/lint.sh $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

# The AWS Lambda function as a zip: $(BUILD)/lambda/milkcast-lambda.zip, its
# shared libraries bundled, glibc and its loader included (Debian's C++
# runtime needs a newer glibc than Amazon Linux 2023's 2.34); fails when
# scripts/check-glibc.sh finds the bundle leaning on the host.  See
# docs/deploy.md.
lambda-zip: build
	@scripts/lambda-zip.sh $(BUILD)

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
