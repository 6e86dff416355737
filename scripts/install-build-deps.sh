#!/usr/bin/env bash
# Installs what packaging and the packaging tests need on Debian, as root:
# cross linkers for arm64 and armhf, qemu-user to run arm binaries, the
# tools to boot a Debian rootfs under systemd-nspawn, lintian (`make test`
# checks the .debs with it), the checkers of the generated man page and
# completions, the rustup targets and cargo-deb; iproute2 (ip, tc) and
# nftables for the namespace cluster tests (tests/cluster_netns.rs,
# tests/cluster_emulated.rs), sysbench for scripts/emu-cluster.sh's
# measured dilation (make bench-net); python3-venv and maturin (from PyPI,
# into a venv under target/) for the Python wheels of `make wheels`, which
# tests/python_wheels.rs installs in a debootstrap'd arm64 tree; apt-utils
# (apt-ftparchive) and gnupg for `make repo`'s signed apt repository, and
# python3 whose http.server serves it to the install test's Pis;
# ansible-core and openssh-client, with which the playbook test
# (scripts/ansible-test.sh) provisions its Pis over ssh. Idempotent: it
# skips what is already there.
set -euo pipefail

packages=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
          qemu-user-static binfmt-support debootstrap systemd-container iproute2 dpkg-dev
          faketime nftables lintian sysbench python3-venv python3-numpy python3-matplotlib
          apt-utils gnupg python3 ansible-core openssh-client)
# Checkers for the generated man page and completions (tests/flags_drift.rs):
# man-db and groff-base lint the page, zsh -n and fish --no-execute parse
# the scripts; Prometheus' promtool (Debian's prometheus package ships it)
# checks piworker --metrics' output (tests/e2e_metrics.rs). Installed
# without their Recommends (fish would pull lynx).
checkers=(man-db groff-base zsh fish prometheus)
# install_missing [APT OPTIONS] -- PACKAGE...: installs those not yet there.
install_missing() {
    local options=() missing=() p
    while [ "$1" != "--" ]; do options+=("$1"); shift; done
    shift
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${options[@]}" "${missing[@]}"
    fi
}
install_missing -- "${packages[@]}"
install_missing --no-install-recommends -- "${checkers[@]}"
# Headless Chromium and its WebDriver for the status page's browser tests
# (tests/web_chromium.rs); selenium goes into a venv under target/.
install_missing -- chromium chromium-driver

rustup target add aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf >/dev/null

if ! cargo deb --version >/dev/null 2>&1; then
    cargo install cargo-deb --locked --version '^3'
fi

bash "$(dirname "$0")/web-venv.sh" >/dev/null

# maturin for `make wheels` (scripts/build-wheels.sh makes its venv once).
bash "$(dirname "$0")/build-wheels.sh" --tools
