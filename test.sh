#!/usr/bin/env bash
# Set up and run the whole test suite, with lint and type checks.
set -euo pipefail
cd "$(dirname "$0")"
bash deploy/install.sh --test
.venv/bin/ruff check .
.venv/bin/mypy
set +e
.venv/bin/pytest -n "${EARCHIVE_TEST_WORKERS:-2}" "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$status"
