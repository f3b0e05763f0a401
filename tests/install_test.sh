#!/usr/bin/env bash
# Proves that a project outside the tree builds against an installed shmbus,
# once with find_package(bus) and once with pkg-config.
#
#   tests/install_test.sh SRC_DIR BUILD_DIR
#
# Installs BUILD_DIR into a temporary prefix, builds
# SRC_DIR/examples/consumer-project both ways, runs each result, and removes
# the prefix.  Exits non-zero on any failure.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 SRC_DIR BUILD_DIR" >&2
	exit 2
fi
SRC_DIR=$(cd "$1" && pwd)
BUILD_DIR=$(cd "$2" && pwd)
EXAMPLE="$SRC_DIR/examples/consumer-project"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-install-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
PREFIX="$TMP/prefix"

fail() {
	echo "install_test: $*" >&2
	exit 1
}

# Runs a step quietly; shows its output only when it fails.
step() {
	local what=$1
	shift
	echo "install_test: $what"
	if ! "$@" >"$TMP/step.log" 2>&1; then
		cat "$TMP/step.log" >&2
		fail "$what failed"
	fi
}

cache_value() {
	sed -n "s/^$1:[A-Z]*=//p" "$BUILD_DIR/CMakeCache.txt" | head -n 1
}

# The example must be built like the library: same compiler, and the same
# sanitizer, whose runtime has to come first in the program.
CC_BIN=$(cache_value CMAKE_C_COMPILER)
CC_BIN=${CC_BIN:-cc}
SANITIZE=""
if [ "$(cache_value BUS_SANITIZE_ADDRESS)" = ON ] ||
	[ "$(cache_value BUS_BUILD_FUZZ)" = ON ]; then
	# A fuzz build is an ASan and UBSan build too (its coverage hooks
	# come with those runtimes).
	SANITIZE="-fsanitize=address,undefined"
elif [ "$(cache_value BUS_SANITIZE_THREAD)" = ON ]; then
	SANITIZE="-fsanitize=thread"
fi

step "cmake --install into $PREFIX" \
	cmake --install "$BUILD_DIR" --prefix "$PREFIX"

# GNUInstallDirs may pick lib, lib64 or lib/<multiarch>: look, don't guess.
LIBBUS=$(find "$PREFIX" -name libbus.so -print -quit)
PCFILE=$(find "$PREFIX" -name bus.pc -print -quit)
[ -n "$LIBBUS" ] || fail "no libbus.so installed"
[ -n "$PCFILE" ] || fail "no bus.pc installed"
LIBDIR=$(dirname "$LIBBUS")
for file in include/bus/bus.h include/bus/layout.h include/bus/export.h \
	bin/busd bin/busctl; do
	[ -e "$PREFIX/$file" ] || fail "$file not installed"
done
[ -e "$LIBDIR/libbus.a" ] || fail "no libbus.a beside libbus.so"
[ -e "$LIBDIR/cmake/bus/busConfig.cmake" ] ||
	fail "no cmake/bus/busConfig.cmake in $LIBDIR"

# Runs a built example against the installed library, and checks that the
# library it loaded is that one and not another copy on the system.
run_example() {
	local program=$1
	LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
		ldd "$program" | grep "libbus.so.* => $LIBDIR/" >/dev/null ||
		fail "$program does not load $LIBDIR/libbus.so"
	step "run $(basename "$program")" env \
		LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
		"$program"
	cat "$TMP/step.log"
}

step "configure the example with find_package(bus)" \
	cmake -S "$EXAMPLE" -B "$TMP/example-cmake" \
	-DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_C_COMPILER="$CC_BIN" \
	-DCMAKE_C_FLAGS="$SANITIZE"
step "build the example with find_package(bus)" \
	cmake --build "$TMP/example-cmake"
run_example "$TMP/example-cmake/consumer-example"

# bus.pc finds its prefix relative to its own place, so an install to
# another prefix needs no override.
PKG_FLAGS=$(PKG_CONFIG_PATH="$(dirname "$PCFILE")" pkg-config \
	--cflags --libs bus) ||
	fail "pkg-config does not know bus"
echo "install_test: pkg-config bus: $PKG_FLAGS"
# shellcheck disable=SC2086 # the flags are separate words
step "build the example with pkg-config" \
	"$CC_BIN" -std=c11 -Wall -Wextra -Werror $SANITIZE \
	"$EXAMPLE/main.c" -o "$TMP/example-pkg-config" $PKG_FLAGS
run_example "$TMP/example-pkg-config"

echo "install_test: passed"
