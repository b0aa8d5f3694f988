"""Fails when static/css/dynamote.css differs from a fresh Tailwind build of the sources."""

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "static" / "css" / "dynamote.css"
CLI = ROOT / "node_modules" / ".bin" / "tailwindcss"


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
    print("CSS is up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
