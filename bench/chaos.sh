#!/usr/bin/env bash
# S3 fault-injection figures (issue 8): runs the chaos suite (chaos/, every
# data path through internal/faultproxy in front of MinIO, one fault per
# task) and prints its table: fault, path, tasks, SUCCESS, ERROR, CANCELLED,
# false successes, rows or bytes lost and leftovers. The last three must
# be 0. Exits non-zero when a case failed, after printing the table and the
# failed cases.
#
#   bench/chaos.sh                       # the short matrix, about a minute
#   S3BRIDGE_CHAOS=full bench/chaos.sh   # every status on every operation
#   S3BRIDGE_CHAOS_PARALLEL=4 bench/chaos.sh  # cases at once (default 12)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_services

log=$(mktemp /tmp/s3bridge-chaos-XXXXXX.log)
status=0
go test -count=1 -v -timeout 30m ./chaos/ >"$log" 2>&1 || status=$?
sed -n '/^=== chaos figures/,/^=== end chaos figures/p' "$log" | sed -e '/^=== end chaos figures/d' -e 's/^=== //'
if [ "$status" -ne 0 ]; then
  echo
  echo "FAILED cases (full output in $log):"
  grep -E '^\s*--- FAIL' "$log" || tail -20 "$log"
  exit "$status"
fi
rm -f "$log"
