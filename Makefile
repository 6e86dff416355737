# The two set-up commands of README.md are `make demo` and `make test`.
CARGO ?= cargo
RELEASE := target/release

.PHONY: all build demo test lint bench clean

all: build

build:
	$(CARGO) build --release

# Starts three piworkers on loopback, runs the seeds' workloads through
# pisubmit, prints answers and timings, and stops the workers.
demo: build
	bash scripts/demo.sh

# The whole test suite: formatting, lints, unit tests and end-to-end tests
# with real processes on real sockets. Release mode, because the tests run
# real workloads (primes up to 10^8, a 256 MiB reduce).
test:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --release -- -D warnings
	$(CARGO) test --release

# Speed and memory measured against native baselines in the same run;
# results are written to docs/PERFORMANCE.md by hand from its output.
bench: build
	bash bench/run.sh

clean:
	$(CARGO) clean
