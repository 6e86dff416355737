# The two set-up commands of README.md are `make demo` and `make test`.
CARGO ?= cargo
RELEASE := target/release

.PHONY: all build demo test test-packages test-python fuzz lint bench bench-net clean man deb deb-arm64 deb-armhf debs deb-next repo build-deps install-test wheels

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
test: test-packages
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --release -- -D warnings
	$(CARGO) clippy -p piworker-python --release -- -D warnings
	$(CARGO) test --release
	$(MAKE) --no-print-directory test-python

# The Python package (python/): built into target/pyvenv with maturin and
# tested with pytest against real workers on loopback.
test-python:
	bash scripts/python-test.sh

# The packaging tests install the amd64 .deb; build it when cargo-deb is
# there (`make build-deps` installs it; CI always has it).
# Then lintian checks every package built (no error, no warning).
test-packages:
	@if cargo deb --version >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory deb deb-next || exit 1; \
		debs=$(DEB_AMD64); \
		if command -v aarch64-linux-gnu-gcc >/dev/null && command -v arm-linux-gnueabihf-gcc >/dev/null; then \
			$(MAKE) --no-print-directory deb-arm64 deb-armhf || exit 1; \
			debs="$$debs $(DEB_ARM64) $(DEB_ARMHF)"; fi; \
		bash scripts/lintian-debs.sh $$debs; \
	else echo "cargo-deb not installed: the package tests will say they were skipped (make build-deps)"; fi

# Speed and memory against the tools people would use instead (Open MPI,
# mpi4py, dispy, GNU parallel, primesieve, the seeds' own scripts, raw
# TCP), all in one run on this machine. Every script records its rows;
# bench/table.py then rewrites the table in docs/PERFORMANCE.md with the
# machine, the versions and the date. As root on Debian: the anchors and
# the cross toolchains are installed first. About 15 minutes on 2 cores.
# BENCH_BASE: the earlier commit that bench/versus.sh compares round trips
# and transfers against (the last one measured before issue 15's changes).
BENCH_BASE ?= 07e4754
bench: export BENCH_ROWS = $(CURDIR)/target/bench/rows.tsv
bench: build
	bash scripts/install-build-deps.sh
	bash bench/install-anchors.sh
	mkdir -p target/bench && rm -f "$$BENCH_ROWS"
	bash bench/pi.sh
	bash bench/tiny.sh
	bash bench/primes.sh
	bash bench/seed000.sh
	bash bench/run.sh
	bash bench/transfer.sh
	bash bench/dtype.sh
	bash bench/scale.sh
	bash bench/footprint.sh
	bash bench/scheduler.sh
	bash bench/limits.sh
	bash bench/status.sh
	bash bench/web.sh
	bash bench/life.sh
	bash bench/exec.sh
	bash bench/joblog.sh
	bash bench/metrics.sh
	bash bench/python.sh
	bash bench/versus.sh $(BENCH_BASE)
	BASE_BIN=target/versus/$(BENCH_BASE)/target/release bash bench/exact_sum.sh
	python3 bench/table.py "$$BENCH_ROWS" docs/PERFORMANCE.md

# The seed workloads on emulated Pi clusters (scripts/emu-cluster.sh: Pis
# in network namespaces, links shaped to pi4-gigabit, pi3-usb and lab-100,
# each Pi held to a CPU quota) on 1, 2, 4 and 8 Pis; its own table in
# docs/PERFORMANCE.md. Not part of `make bench` or `make test`. As root;
# about 35 minutes on 2 cores. Subsets and sizes: NET_PROFILES, NET_PIS,
# NET_WORKLOADS, NET_REPS and the others at the top of bench/net.sh.
bench-net: export BENCH_ROWS = $(CURDIR)/target/bench/net-rows.tsv
bench-net: build
	mkdir -p target/bench && rm -f "$$BENCH_ROWS"
	bash bench/net.sh
	python3 bench/table.py "$$BENCH_ROWS" docs/PERFORMANCE.md --markers net

# Debian packages (cargo-deb). `make build-deps` installs the cross
# toolchains, qemu-user and cargo-deb on Debian (as root).
ARM64 := aarch64-unknown-linux-gnu
ARMHF := armv7-unknown-linux-gnueabihf
# Binaries whose man page and completions come from their flag table
# (`BIN --generate man|bash|zsh|fish`), run from the host build even when
# the .deb is for arm: the text is the same. No page is kept by hand.
GENERATED := piworker.8 pisubmit.1
GENERATED_PAGES := $(GENERATED:%=target/man/%.gz)
COMPLETIONS := $(foreach page,$(GENERATED),$(foreach shell,bash zsh fish,target/completions/$(basename $(page)).$(shell)))
MANPAGES := $(GENERATED_PAGES)

build-deps:
	bash scripts/install-build-deps.sh

man: $(MANPAGES) $(COMPLETIONS)

$(GENERATED_PAGES): target/man/%.gz: build
	mkdir -p target/man
	$(RELEASE)/$(basename $*) --generate man > $@.roff
	gzip -9n < $@.roff > $@ && rm $@.roff

# target/completions/BIN.SHELL
$(COMPLETIONS): target/completions/%: build
	mkdir -p target/completions
	$(RELEASE)/$(basename $*) --generate $(subst .,,$(suffix $*)) > $@

# cargo-deb writes every package to target/debian/ (and the cross ones also
# to their old place, target/<triple>/debian/, which the recipes make a hard
# link to the finished package). --strip has cargo-deb run the target's strip
# (.cargo/config.toml) with --remove-section=.comment, a section the
# linker's strip of the release profile keeps. cargo-deb writes no md5sums
# control file: scripts/deb-finish.sh adds it, and checks that the changelog
# has an entry for the package's version (which names the files below).
DEB_VERSION := $(shell sed -n '1s/^piworker (\(.*\)).*/\1/p' packaging/debian/changelog)
DEB_AMD64 := target/debian/piworker_$(DEB_VERSION)_amd64.deb
DEB_ARM64 := target/debian/piworker_$(DEB_VERSION)_arm64.deb
DEB_ARMHF := target/debian/piworker_$(DEB_VERSION)_armhf.deb

deb: man
	deb=$$(cargo deb --strip) && bash scripts/deb-finish.sh "$$deb"

deb-arm64: man
	deb=$$(cargo deb --strip --target $(ARM64)) && bash scripts/deb-finish.sh "$$deb" \
		&& ln -f "$$deb" target/$(ARM64)/debian/

deb-armhf: man
	deb=$$(cargo deb --strip --target $(ARMHF)) && bash scripts/deb-finish.sh "$$deb" \
		&& ln -f "$$deb" target/$(ARMHF)/debian/

debs: deb deb-arm64 deb-armhf

# The rolling-upgrade test's next release: this source with the patch
# version and the protocol minor one higher, packaged as an amd64 .deb in
# target/next/ (scripts/build-next.sh; its own target directory, so
# target/release stays as it is). scripts/install-test.sh upgrades to it.
deb-next: deb
	bash scripts/build-next.sh $(DEB_AMD64)

# A signed apt repository of the three packages in target/repo/, for the
# head to serve to its Pis (README: "Installing from the head's
# repository"). Signed with a project key made on first use in
# target/repo-gnupg/, or a lab's own: PIWORKER_REPO_KEY=FINGERPRINT (and
# GNUPGHOME=DIR where that key is not in ~/.gnupg).
repo: debs
	bash scripts/make-repo.sh $(DEB_AMD64) $(DEB_ARM64) $(DEB_ARMHF)

# The Python package's abi3 wheels (one per machine for CPython 3.9 and
# later) for x86_64, aarch64 and armv7 heads, stripped, into target/wheels/;
# scripts/build-wheels.sh says how they are built and tagged. maturin comes
# from PyPI into a venv under target/ on first use.
wheels:
	bash scripts/build-wheels.sh

# Boots Debian with a real systemd in systemd-nspawn, installs the amd64
# package and exercises it (needs root; part of `make test` via tests/).
install-test: deb deb-next
	bash scripts/install-test.sh

# Every cargo-fuzz target, one after another, FUZZ_SECS seconds each
# (default 300), with libFuzzer's malloc and RSS limits at the memory
# budget the checks start jobs with; findings go to fuzz/regressions/ and
# are listed at the end (stable toolchain: RUSTC_BOOTSTRAP lets cargo-fuzz
# use its nightly flags). See fuzz/README.md.
FUZZ_SECS ?= 300
fuzz:
	FUZZ_SECS=$(FUZZ_SECS) bash scripts/fuzz-all.sh

clean:
	$(CARGO) clean
