#!/bin/sh
# Dynamote's tasks; `make <task>` calls this, and it works where make is missing.
#   run         install what is missing, migrate, seed, start on http://127.0.0.1:8000
#   test        every check CI runs: lint, format, Django checks, pytest (E2E included), CSS
#   test-postgres  the database tests against a throwaway PostgreSQL on loopback
#   css         rebuild static/css/dynamote.css with the Tailwind CLI (Node.js)
#   css-check   fail when the committed CSS is stale
set -eu
cd "$(dirname "$0")/.."
UV=$(./scripts/ensure-uv.sh)
RUN="$UV run --frozen"

sync() { "$UV" sync --frozen --quiet; }
# Node.js 20+ first on PATH: the machine's, or the one `uv sync` installs in .venv/bin.
with_node() { NODE_DIR=$(sh scripts/ensure-node.sh) && PATH="$NODE_DIR:$PATH" && export PATH; }
# The npm packages (Tailwind CLI, the tests' OpenID Connect provider), installed again when
# package-lock.json changed since the last install.
npm_packages() {
  [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --silent
}

case "${1:-}" in
  run)
    sync
    shift
    exec $RUN python manage.py start "$@"
    ;;
  test)
    sync
    with_node
    npm_packages
    $RUN ruff check .
    $RUN ruff format --check .
    $RUN python manage.py check
    $RUN python manage.py makemigrations --check --dry-run
    $RUN pytest --durations=15
    $RUN python scripts/check_css.py
    ;;
  test-postgres)
    sync
    sh scripts/with-postgres.sh $RUN pytest --durations=15 --ignore=tests/e2e --ignore=tests/ship
    ;;
  css)
    with_node
    npm_packages
    npm run --silent build
    ;;
  css-check)
    with_node
    $RUN python scripts/check_css.py
    ;;
  *)
    echo "usage: scripts/dev.sh run|test|css|css-check" >&2
    exit 2
    ;;
esac
