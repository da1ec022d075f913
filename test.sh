#!/usr/bin/env bash
# The README's test command (and what CI runs): the test suite, lint, type check and the
# 4-device data-parallel tests, each in its own nox-managed virtualenv. Needs only
# python3 (>= 3.11) with venv.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv-nox/bin/nox ]; then
  python3 -m venv .venv-nox
  .venv-nox/bin/python -m pip install --quiet "nox>=2024.4.15"
fi
exec .venv-nox/bin/nox --sessions tests lint typecheck multidevice "$@"
