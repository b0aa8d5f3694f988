"""Fails when static/css/dynamote.css differs from a fresh Tailwind build of the sources, or a
browser library in static/ (htmx's SSE extension, uPlot) from the npm package it is copied
from by `npm run build` (the copies are listed in frontend/vendor.json)."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "static" / "css" / "dynamote.css"
CLI = ROOT / "node_modules" / ".bin" / "tailwindcss"
VENDOR = ROOT / "frontend" / "vendor.json"


def stale_copies() -> list[str]:
    """The committed copies that are missing or differ from their npm package's file."""
    copies = json.loads(VENDOR.read_text())
    stale = []
    for committed, source in copies.items():
        fresh, kept = ROOT / source, ROOT / committed
        if not fresh.exists() or not kept.exists() or fresh.read_bytes() != kept.read_bytes():
            stale.append(committed)
    return stale


def main() -> int:
    if not CLI.exists():
        print("The Tailwind CLI is missing: run `npm ci` first (Node.js 20+).", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "dynamote.css"
        subprocess.run(
            [str(CLI), "--input", "frontend/tailwind.css", "--output", str(fresh), "--minify"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        if fresh.read_bytes() != COMMITTED.read_bytes():
            print(
                "static/css/dynamote.css is stale: run `make css` and commit the result.",
                file=sys.stderr,
            )
            return 1
    stale = stale_copies()
    if stale:
        print(
            f"{', '.join(stale)} {'is' if len(stale) == 1 else 'are'} stale: "
            "run `make css` and commit the result.",
            file=sys.stderr,
        )
        return 1
    print("The CSS and the browser libraries in static/ are up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
