#!/usr/bin/env bash
# The README's test command: exactly what CI runs (.ci/run): nox sessions tests, lint,
# typecheck, multidevice, multiprocess, docs, notebooks and floors. Extra arguments go to nox.
set -euo pipefail
exec bash "$(dirname "$0")/.ci/run" "$@"
