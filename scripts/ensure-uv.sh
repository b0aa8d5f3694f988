#!/bin/sh
# Prints the path of a working uv, installing it with pip when it is missing.
set -e
if command -v uv >/dev/null 2>&1; then command -v uv; exit 0; fi
for candidate in "$HOME/.local/bin/uv" "$(python3 -m site --user-base 2>/dev/null)/bin/uv"; do
  if [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
echo "uv not found: installing it with pip" >&2
python3 -m pip install --quiet uv >&2 2>/dev/null \
  || python3 -m pip install --quiet --user uv >&2 2>/dev/null \
  || python3 -m pip install --quiet --user --break-system-packages uv >&2
if command -v uv >/dev/null 2>&1; then command -v uv; exit 0; fi
for candidate in "$HOME/.local/bin/uv" "$(python3 -m site --user-base)/bin/uv"; do
  if [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
echo "Could not install uv with pip; see https://docs.astral.sh/uv/ to install it by hand." >&2
exit 1
