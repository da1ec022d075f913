#!/usr/bin/env bash
# The README's main command: install ngcx (with plots) into .venv and run the main job.
# Extra arguments go to the job, e.g. `bash main.sh --epochs 5`. A repeated run replaces
# the previous run's files in its --out folder (--overwrite) unless you pass --resume.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/ngcx ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet -e ".[plots]"
fi
extra=(--overwrite)
for arg in "$@"; do
  case "$arg" in --resume|--resume=*|--overwrite) extra=() ;; esac
done
exec .venv/bin/ngcx train pcn "${extra[@]}" "$@"
