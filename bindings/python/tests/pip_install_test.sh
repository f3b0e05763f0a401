#!/bin/sh
# SPDX-License-Identifier: MIT
#
# pip_install_test.sh PYTHON SOURCE_DIR BUILD_DIR: the binding builds and
# installs offline with pip and Debian's setuptools (no build isolation,
# no index), against the CMake build tree's libbus, into a temporary
# --target, and imports from there.  Skips (77) without pip.
set -u
python=$1
source=$2
build=$3
name=python_pip_install

if ! "$python" -m pip --version >/dev/null 2>&1; then
	echo "$name: pip is missing for $python (python3-pip); skipped"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-pip-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
# pip builds in the source tree: copy it so that the tree stays clean.
cp -r "$source" "$work/src"
rm -rf "$work/src/build" "$work/src"/*.egg-info
if ! SHMBUS_BUILD_DIR=$build "$python" -m pip install --no-build-isolation \
	--no-index --quiet --target "$work/site" "$work/src" \
	>"$work/log" 2>&1; then
	cat "$work/log"
	echo "FAIL: $name: pip install"
	exit 1
fi
cd "$work" || exit 1
PYTHONPATH=$work/site "$python" -c '
import shmbus, sys
assert shmbus._shmbus.__file__.startswith(sys.argv[1]), shmbus._shmbus.__file__
assert issubclass(shmbus.NotFound, FileNotFoundError)
assert shmbus.strerror(2)
print("installed:", shmbus._shmbus.__file__)
' "$work/site" || { echo "FAIL: $name: import"; exit 1; }
echo "$name: ok"
