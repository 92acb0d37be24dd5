#!/usr/bin/env bash
# Set up and run the main job on the embedded default (data home ./var).
set -euo pipefail
cd "$(dirname "$0")"
bash deploy/install.sh
export EARCHIVE_HOME="${EARCHIVE_HOME:-$PWD/var}"
export EARCHIVE_LOG_JSON="${EARCHIVE_LOG_JSON:-false}"
export EARCHIVE_LOG_LEVEL="${EARCHIVE_LOG_LEVEL:-WARNING}"
# Use the machine's ClamAV daemon when there is one; otherwise say so in every report
# (production sets when_unavailable=reject, the default, and runs clamd with freshclam).
if [ -z "${EARCHIVE_VIRUS__CLAMD_SOCKET:-}" ] && [ -S /var/run/clamav/clamd.ctl ]; then
  export EARCHIVE_VIRUS__CLAMD_SOCKET=/var/run/clamav/clamd.ctl
elif [ -z "${EARCHIVE_VIRUS__CLAMD_SOCKET:-}" ]; then
  echo "Chú ý: không có dịch vụ ClamAV trên máy này; các gói sẽ được ghi nhận là chưa quét mã độc." >&2
  export EARCHIVE_VIRUS__WHEN_UNAVAILABLE="${EARCHIVE_VIRUS__WHEN_UNAVAILABLE:-skip}"
fi
exec .venv/bin/earchive run "$@"
