#!/bin/sh
# Checks that every C source and header follows .clang-format, with
# Debian's clang-format (scripts/install-deps.sh installs it); exits 1
# naming the files that do not.  To fix them:
#
#   git ls-files '*.c' '*.h' | xargs clang-format -i
set -eu

cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null 2>&1; then
	echo "check-format.sh: clang-format is not installed" \
		"(Debian: clang-format)" >&2
	exit 1
fi
bad=
for f in $(git ls-files '*.c' '*.h'); do
	clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
if [ -n "$bad" ]; then
	echo "check-format.sh: not formatted as .clang-format says:$bad" >&2
	echo "  fix: git ls-files '*.c' '*.h' | xargs clang-format -i" >&2
	exit 1
fi
echo "check-format.sh: $(git ls-files '*.c' '*.h' | wc -l) files formatted"
