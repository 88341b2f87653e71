#!/bin/sh
# Runs go-mysql-server's engine test suites over Coffer and prints pass,
# fail and skip counts per suite and in total:
#   enginetest: N passed, M failed, K skipped
#
#   sql/enginetest/count.sh              Coffer only
#   sql/enginetest/count.sh -baseline    also the memory engine, for comparison
#   sql/enginetest/count.sh -candidates  also skip list candidates for failures
#   sql/enginetest/count.sh -noskip      with the skip list off (but for
#                                        entries that crash the binary)
#
# Extra arguments go to `go test` (e.g. -run TestQueries).
set -eu
cd "$(dirname "$0")/../.."

baseline=0
candidates=0
noskip=0
while [ $# -gt 0 ]; do
	case "$1" in
	-baseline) baseline=1; shift ;;
	-candidates) candidates=1; shift ;;
	-noskip) noskip=1; shift ;;
	*) break ;;
	esac
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

status=0
COFFER_ENGINETEST_BASELINE=$baseline COFFER_ENGINETEST_NOSKIP=$noskip COFFER_ENGINETEST_RECORD="$tmp/asked" \
	go test ./sql/enginetest/ -json -count=1 -timeout 60m "$@" >"$tmp/json" || status=$?

if [ $candidates -eq 1 ]; then
	go run ./sql/enginetest/internal/testcount -asked "$tmp/asked" <"$tmp/json"
else
	go run ./sql/enginetest/internal/testcount <"$tmp/json"
fi
exit $status
