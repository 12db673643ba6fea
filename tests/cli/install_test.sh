#!/usr/bin/env bash
# install_test.sh BUILD_DIR SOURCE_DIR: installs the build into a fresh temporary prefix and runs
# the installed CLI from there with an empty loader path: --help, --version and a small
# generation with models/tiny (its SentencePiece plug-in must be found next to the library).
set -euo pipefail
build=$1 src=$2
prefix=$(mktemp -d /tmp/pd-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
cli="$prefix/bin/pangu-draw"
unset LD_LIBRARY_PATH
"$cli" --help >/dev/null
"$cli" --version
"$cli" generate -m "$src/models/tiny" -p "one red circle" --steps 2 --seed 1 -q \
  --output "$prefix/x.png"
[ -s "$prefix/x.png" ] || { echo "no picture written from the installed tree" >&2; exit 1; }
echo "installed tree OK: $prefix"
