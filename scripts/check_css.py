"""Fails when static/css/dynamote.css differs from a fresh Tailwind build of the sources, or
static/js/htmx-ext-sse.min.js from the npm package it is copied from (`npm run build`)."""

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "static" / "css" / "dynamote.css"
CLI = ROOT / "node_modules" / ".bin" / "tailwindcss"
SSE = ROOT / "static" / "js" / "htmx-ext-sse.min.js"
SSE_PACKAGE = ROOT / "node_modules" / "htmx-ext-sse" / "dist" / "sse.min.js"


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
    if not SSE_PACKAGE.exists() or SSE_PACKAGE.read_bytes() != SSE.read_bytes():
        print(
            "static/js/htmx-ext-sse.min.js is stale: run `make css` and commit the result.",
            file=sys.stderr,
        )
        return 1
    print("CSS and htmx's SSE extension are up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
