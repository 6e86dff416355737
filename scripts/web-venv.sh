#!/usr/bin/env bash
# The venv the headless Chromium tests drive the page from (tests/web_chromium.rs):
# selenium from PyPI into target/webvenv, once. Prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=target/webvenv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import selenium' 2>/dev/null; then
    /usr/bin/python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'selenium>=4.10,<5' >&2
fi
echo "$PWD/$VENV/bin/python"
