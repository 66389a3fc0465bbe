#!/usr/bin/env bash
# The README's test command: set up everything on a fresh machine, then run the whole suite.
#   - a virtual environment in .venv with wsframes and its dev extras, from this repo's files
#   - Debian's headless Chromium (the report tests open the HTML in a real browser)
#   - Debian's Java 17 runtime (the Spark tests run PySpark in local mode)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing: run 'sudo apt-get install chromium' (the browser tests need it)" >&2
    exit 1
  fi
fi
if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  else
    echo "java is missing: run 'sudo apt-get install openjdk-17-jre-headless' (the Spark tests need it)" >&2
    exit 1
  fi
fi
exec .venv/bin/python -m pytest -n 2 "$@"
