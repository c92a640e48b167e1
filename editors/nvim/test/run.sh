#!/bin/sh
# Runs the headless Neovim tests of the IDR-QL plugin: the syntax test (syntax_test.lua,
# no server needed), then the LSP test (lsp_test.lua) against an `idr` binary.
#
#   editors/nvim/test/run.sh [path/to/idr]
#
# The binary defaults to target/debug/idr of this repository. NVIM overrides the nvim
# to use. Exits with nvim's status: 0 when both tests pass, 1 when one fails (the LSP
# test does not run after a failed syntax test), and 124 if nvim itself had to be
# stopped after 30 s.
set -u

here=$(cd "$(dirname "$0")" && pwd)
plugin=$(dirname "$here")                 # editors/nvim
repo=$(cd "$plugin/../.." && pwd)         # the idr-graph checkout

idr=${1:-$repo/target/debug/idr}
case $idr in
  /*) ;;
  */*) idr=$(pwd)/$idr ;;  # relative to the caller's directory
esac
nvim=${NVIM:-nvim}
if ! command -v "$nvim" >/dev/null 2>&1; then
  echo "run.sh: $nvim not found (install Neovim 0.7 or later)" >&2
  exit 127
fi

# The LSP test bounds its own waits (25 s); `timeout` only guards against nvim hanging.
guard=
if command -v timeout >/dev/null 2>&1; then
  guard="timeout -k 5 30"
fi

$guard "$nvim" --headless -u NONE -i NONE \
  --cmd "set rtp+=$plugin" \
  -c "luafile $plugin/test/syntax_test.lua" </dev/null || exit

IDR_BIN=$idr $guard "$nvim" --headless -u NONE -i NONE \
  --cmd "set rtp+=$plugin" \
  -c "luafile $plugin/test/lsp_test.lua" </dev/null
