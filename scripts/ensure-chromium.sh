#!/bin/sh
# Make sure Debian's chromium is installed for the browser tests (Playwright drives it through
# executable_path; no browser is ever downloaded by Playwright). Idempotent: exits 0 at once when
# the browser is there. Installing needs root (apt-get); without it, say what to run.
set -eu

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available; install Chromium" \
        "and set CHROMIUM to its path" >&2
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-chromium: $CHROMIUM is missing; install it as root: apt-get install -y chromium" >&2
    exit 1
fi

echo "ensure-chromium: installing Debian's chromium for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null

if [ ! -x "$CHROMIUM" ]; then
    echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing" >&2
    exit 1
fi
