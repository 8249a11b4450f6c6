#!/usr/bin/env bash
# Run the whole suite. pytest's exit 5 (no test ran) counts as a failure.
set -u
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "run-tests: pytest ran no test; that is a failure" >&2
  exit 1
fi
exit $rc
