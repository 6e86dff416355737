#!/usr/bin/env bash
# Runs lintian on the .deb files given and fails on any error or warning
# (E: or W:); informational (I:) tags are shown but do not fail. Run by
# `make test` (test-packages) after the packages are built. Where lintian
# is not installed it says so loudly and succeeds: CI installs it through
# scripts/install-build-deps.sh.
#
# lintian unpacks the packages it checks and warns against doing that as
# root, so as root it runs as the unprivileged user nobody, on copies of the
# packages in a temporary directory that user can read.
# Usage: scripts/lintian-debs.sh PACKAGE.deb...
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 PACKAGE.deb..." >&2; exit 2; }

if ! command -v lintian >/dev/null 2>&1; then
    echo "######## lintian not installed: the .deb files were NOT checked (make build-deps installs it) ########"
    exit 0
fi

for deb in "$@"; do
    [ -f "$deb" ] || { echo "lintian-debs: $deb: no such package" >&2; exit 1; }
done

as_checker=()
names=("$@")
debs=("$@")
if [ "$(id -u)" = 0 ]; then
    copies=$(mktemp -d "${TMPDIR:-/tmp}/lintian-debs.XXXXXX")
    trap 'rm -rf "$copies"' EXIT
    chmod 0755 "$copies"
    debs=()
    for deb in "$@"; do
        cp "$deb" "$copies/"
        debs+=("$copies/$(basename "$deb")")
    done
    as_checker=(runuser -u nobody --)
fi

# --fail-on is in Debian 12's lintian (2.116); it sets the exit status only.
status=0
for i in "${!debs[@]}"; do
    echo "lintian: ${names[$i]}"
    "${as_checker[@]}" lintian --fail-on error,warning --display-info "${debs[$i]}" || status=1
done
if [ "$status" != 0 ]; then
    echo "lintian found errors or warnings in the packages above (lintian --info TAG explains a tag)" >&2
fi
exit "$status"
