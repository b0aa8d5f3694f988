#!/bin/sh
# The container image's build steps, in one script so they can be tested without Docker.
#   scripts/build-image.sh VENV   installs Dynamote's runtime packages into VENV and
#                                 collects the static files into ./staticfiles
# Run from the source directory (the Dockerfile's WORKDIR).
set -eu
VENV=${1:?usage: scripts/build-image.sh VENV}

if command -v uv >/dev/null 2>&1; then
  UV=uv
else
  python3 -m pip install --quiet --no-cache-dir uv
  UV="python3 -m uv"
fi
UV_PROJECT_ENVIRONMENT="$VENV" $UV sync --frozen --no-dev --no-install-project --quiet

# collectstatic needs settings, not secrets: a throwaway key and production storage
# (compressed files with hashed names, served by whitenoise).
DJANGO_DEBUG=false \
DJANGO_SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-0123456789 \
DJANGO_ALLOWED_HOSTS=localhost \
DYNAMOTE_VAR_DIR="$(mktemp -d)" \
  "$VENV/bin/python" manage.py collectstatic --noinput --verbosity 0

"$VENV/bin/python" -m compileall -q dynamote catalog deployments sandbox >/dev/null
echo "Built: runtime in $VENV, static files in $(pwd)/staticfiles"
