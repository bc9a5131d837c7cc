#!/bin/sh
# Install Debian packages for a make target (chromium for the browser tests, ab for
# the benchmarks). Waits for another apt or dpkg run to finish instead of failing
# with "Could not get lock": a fresh machine often runs unattended-upgrades at boot.
set -eu
if ! command -v apt-get >/dev/null 2>&1; then
	echo "This step needs the Debian package(s): $*" >&2
	echo "This system has no apt-get: install them with your package manager (for the" >&2
	echo "browser tests, any Chromium: set PB_SSR_CHROMIUM to its path), then run make again." >&2
	exit 1
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
WAIT=600 # seconds
# DPkg::Lock::Timeout covers the dpkg locks (install); `update` takes the lists lock,
# which it does not wait for, so that one is retried here.
attempt=0
until $SUDO apt-get -o DPkg::Lock::Timeout=$WAIT update -qq; do
	attempt=$((attempt + 1))
	if [ "$attempt" -ge $((WAIT / 5)) ]; then
		echo "apt-get update kept failing for $WAIT s (another apt run holding its lock?)" >&2
		exit 1
	fi
	echo "apt-get update failed (lock held by another apt run?); retrying in 5 s..." >&2
	sleep 5
done
$SUDO apt-get -o DPkg::Lock::Timeout=$WAIT install -y -qq "$@" >/dev/null
