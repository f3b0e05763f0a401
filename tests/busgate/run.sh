#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tests/busgate/run.sh FILE BUSD BUSCTL BUSGATE: one file of busgate's
# pytest suite, with Debian's python (a python3 earlier in PATH may lack
# the Debian modules).  Skipped (77) without python3-stomp,
# python3-websocket or python3-pytest (scripts/install-deps.sh has them).
set -u
file=$1
python=/usr/bin/python3
if ! "$python" -c 'import stomp, websocket, pytest' 2>/dev/null; then
	echo "busgate tests: python3-stomp, python3-websocket or" \
		"python3-pytest missing; skipped"
	exit 77
fi
export BUSD="$2" BUSCTL="$3" BUSGATE="$4" PYTHONDONTWRITEBYTECODE=1
cd "$(dirname "$0")" || exit 1
# No cache directory in the source tree; -x stops at the first failure;
# pytest's tmp_path folders in a base removed after the run, not kept under
# /tmp/pytest-of-USER.
base=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-pytest-XXXXXX") || exit 1
"$python" -m pytest -q -x -p no:cacheprovider --basetemp "$base" "$file"
status=$?
rm -rf "$base"
exit $status
