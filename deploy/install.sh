#!/usr/bin/env bash
# Install what earchive needs on a Debian 12 machine: system packages, a virtualenv, the project.
# Idempotent: packages already present are not fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TEST=0
[ "${1:-}" = "--test" ] && WITH_TEST=1

SYSTEM_PACKAGES=(python3-venv python3-dev libmagic1 fonts-dejavu-core ghostscript libreoffice-writer-nogui)
TEST_PACKAGES=(clamav-daemon zip postgresql tesseract-ocr tesseract-ocr-vie ocrmypdf poppler-utils)

wanted=("${SYSTEM_PACKAGES[@]}")
[ "$WITH_TEST" = 1 ] && wanted+=("${TEST_PACKAGES[@]}")
missing=()
for pkg in "${wanted[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "$WITH_TEST" = 1 ]; then
  .venv/bin/python -m pip install -q -e '.[test]'
else
  .venv/bin/python -m pip install -q -e .
fi
