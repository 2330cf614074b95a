#!/bin/sh
# Make sure Debian's chromium is installed for the browser tests (Playwright drives it through
# executable_path; no browser is ever downloaded by Playwright), with Debian's Noto CJK fonts so the
# Japanese pages (and their screenshots) show their text rather than boxes. Idempotent: exits 0 at
# once when both are there. Installing needs root (apt-get); without it, say what to run.
set -eu

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
CJK_FONTS=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

if [ -x "$CHROMIUM" ] && [ -f "$CJK_FONTS" ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: $CHROMIUM or the Noto CJK fonts are missing and apt-get is not available;" \
        "install Chromium (set CHROMIUM to its path) and a Japanese font" >&2
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-chromium: $CHROMIUM or the Noto CJK fonts are missing; install them as root:" \
        "apt-get install -y chromium fonts-liberation fonts-noto-cjk" >&2
    exit 1
fi

echo "ensure-chromium: installing Debian's chromium and Noto CJK fonts for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-liberation fonts-noto-cjk >/dev/null

if [ ! -x "$CHROMIUM" ] || [ ! -f "$CJK_FONTS" ]; then
    echo "ensure-chromium: apt-get finished but $CHROMIUM or $CJK_FONTS is still missing" >&2
    exit 1
fi
