#!/bin/sh
# Installs the Debian packages that building, testing and benchmarking
# shmbus need.  Safe to run again: apt-get skips what is installed.
#
#   sudo scripts/install-deps.sh      (or as root without sudo)
set -eu

PACKAGES="
	cmake
	gcc
	clang
	clang-format
	libclang-rt-dev
	make
	pkg-config
	liburing-dev
	libcmocka-dev
	libinih-dev
	libmicrohttpd-dev
	libsystemd-dev
	systemd
	curl
	jq
	tmux
	chromium
	gnuplot-nox
	iceoryx
	libiceoryx-binding-c-dev
	ca-certificates
	nats-server
	libnats-dev
	mosquitto-clients
	python3-dev
	python3-setuptools
	python3-pytest
	python3-pip
	nettle-dev
	libcrypt-dev
	python3-stomp
	python3-websocket
"

if [ "$(id -u)" -eq 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1; then
	SUDO=sudo
else
	echo "install-deps.sh: run as root, or install sudo" >&2
	exit 1
fi

# sudo drops the environment, so the front end is set through env(1).
APT="env DEBIAN_FRONTEND=noninteractive apt-get"
# shellcheck disable=SC2086 # APT is a command with its arguments
$SUDO $APT update
# shellcheck disable=SC2086 # one word per package
$SUDO $APT install -y --no-install-recommends $PACKAGES
