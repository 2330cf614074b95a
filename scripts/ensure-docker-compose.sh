#!/bin/sh
# Make sure a Compose implementation is there for the test that validates docker-compose.yaml
# (`docker compose config` or `docker-compose config`; neither needs a running Docker engine).
# Idempotent: exits 0 at once when either works. Otherwise installs Debian's docker-compose
# with apt-get (as root); without it, say what to run.
set -eu

if docker compose version >/dev/null 2>&1 || docker-compose version >/dev/null 2>&1; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-docker-compose: neither 'docker compose' nor 'docker-compose' is available and" \
        "apt-get is missing; install Docker Compose" >&2
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-docker-compose: docker-compose is missing; install it as root:" \
        "apt-get install -y docker-compose" >&2
    exit 1
fi

echo "ensure-docker-compose: installing Debian's docker-compose to validate docker-compose.yaml" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends docker-compose >/dev/null

if ! docker-compose version >/dev/null 2>&1; then
    echo "ensure-docker-compose: apt-get finished but docker-compose does not run" >&2
    exit 1
fi
