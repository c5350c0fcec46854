#!/usr/bin/env bash
# Transfer benchmark: s3bridge against `aws s3 cp` and `rclone copy`, all on
# the same local MinIO in the same run, for 1 × 1 GiB and 2000 × 64 KiB,
# upload and download. Prints each tool's seconds (median and best of BENCH_RUNS) and
# s3bridge's time as a ratio to the faster peer; target: ratio ≤ 1.00.
#
#   bench/transfer.sh            # BENCH_RUNS=3 by default
#   BENCH_RUNS=1 bench/transfer.sh
#   BENCH_CASES="down_big down_small" BENCH_PEERS=rclone bench/transfer.sh
# BENCH_CASES picks cases (up_big up_small down_big down_small); a download
# case whose upload case is skipped gets its objects seeded, untimed.
# BENCH_PEERS picks the peers to time (aws rclone).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_minio
command -v rclone >/dev/null || apt_install rclone
command -v aws >/dev/null || apt_install awscli

runs=${BENCH_RUNS:-3}
cases=${BENCH_CASES:-up_big up_small down_big down_small}
peers=${BENCH_PEERS:-aws rclone}
want() { [[ " $cases " == *" $1 "* ]]; }
peer() { [[ " $peers " == *" $1 "* ]]; }
work=$(mktemp -d /tmp/s3bridge-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
go build -o "$work/s3bridge" ./cmd/s3bridge

export AWS_ACCESS_KEY_ID=$S3BRIDGE_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3BRIDGE_TEST_S3_SECRET_KEY AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=$S3BRIDGE_TEST_S3_ENDPOINT
export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Minio RCLONE_CONFIG_BENCH_ENDPOINT=$S3BRIDGE_TEST_S3_ENDPOINT \
  RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
# rclone 1.60 (Debian) can't take AWS_CA_BUNDLE with its own HTTP transport
# ("unsupported transport"); the endpoint is plain http, so drop it for rclone.
rclone() { env -u AWS_CA_BUNDLE rclone "$@"; }
aws_s3() { aws --endpoint-url "$S3BRIDGE_TEST_S3_ENDPOINT" s3 "$@" >/dev/null; }
bucket=bench-$(date +%s)
aws_s3 mb "s3://$bucket"
cleanup_bucket() { aws_s3 rb --force "s3://$bucket" || true; rm -rf "$work"; }
trap cleanup_bucket EXIT

echo "generating data in $work" >&2
mkdir -p "$work/area" "$work/small"
head -c $((1 << 30)) /dev/urandom >"$work/area/big.bin"
for i in $(seq -w 1 2000); do head -c 65536 /dev/urandom >"$work/small/f$i.dat"; done
db="sqlite://$work/bench.db"
"$work/s3bridge" attach --db "$db" --area "$work/area" --dir "SMALL=$work/small" --dir "DL=$work/dl" \
  --allow-ext '*' --max-files 100000 >/dev/null

# seconds CMD…: wall time of one run
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; exit 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }
# runs PREP CMD…: the times of $runs runs, PREP run before each (not timed)
runs_of() { local prep=$1; shift; local all=""; for _ in $(seq "$runs"); do $prep; t=$(seconds "$@"); [ -n "$t" ] || { echo "FAILED: $*" >&2; kill $$; }; all="$all $t"; done; echo "$all"; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
best() { tr ' ' '\n' <<<"$1" | grep . | sort -n | head -1; }
fresh_dl() { rm -rf "$work/dl" "$work/area/dl"; mkdir -p "$work/dl"; }
none() { :; }
s3b() { "$work/s3bridge" "$@" --db "$db"; }

declare -A T
# time CASE TOOL PREP CMD…: records the times of the runs, or "-" for a skipped tool
time_case() { local c=$1 tool=$2 prep=$3; shift 3; T[${c}_$tool]=-; { [ "$tool" = s3b ] || peer "$tool"; } || return 0; T[${c}_$tool]=$(runs_of "$prep" "$@"); }
if want up_big; then
  time_case up_big s3b none s3b upload-file --overwrite big.bin "s3://$bucket/s3b/big.bin"
  time_case up_big aws none aws_s3 cp "$work/area/big.bin" "s3://$bucket/aws/big.bin"
  time_case up_big rclone none rclone copy --ignore-times "$work/area/big.bin" "bench:$bucket/rclone/"
fi
if want up_small; then
  time_case up_small s3b none s3b upload --bucket "$bucket" --directory SMALL --s3-prefix s3b/small/
  time_case up_small aws none aws_s3 cp --recursive "$work/small" "s3://$bucket/aws/small/"
  time_case up_small rclone none rclone copy --ignore-times "$work/small" "bench:$bucket/rclone/small/"
fi
# seed: the objects a download case reads, when its upload case didn't run
if want down_big && ! want up_big; then
  for t in s3b aws rclone; do rclone copy "$work/area/big.bin" "bench:$bucket/$t/" >/dev/null; done
fi
if want down_small && ! want up_small; then
  for t in s3b aws rclone; do rclone copy "$work/small" "bench:$bucket/$t/small/" >/dev/null; done
fi
if want down_big; then
  time_case down_big s3b fresh_dl s3b download-file "s3://$bucket/s3b/big.bin" dl/big.bin
  time_case down_big aws fresh_dl aws_s3 cp "s3://$bucket/aws/big.bin" "$work/dl/big.bin"
  time_case down_big rclone fresh_dl rclone copy "bench:$bucket/rclone/big.bin" "$work/dl/"
fi
if want down_small; then
  time_case down_small s3b fresh_dl s3b download --bucket "$bucket" --directory DL --s3-prefix s3b/small/
  time_case down_small aws fresh_dl aws_s3 cp --recursive "s3://$bucket/aws/small/" "$work/dl/"
  time_case down_small rclone fresh_dl rclone copy "bench:$bucket/rclone/small/" "$work/dl/"
fi

# table STAT: one line per case of the STAT (median or best) of each tool's runs
table() {
  local stat=$1 met=0 ran=0
  printf '\ns3bridge transfer benchmark (local MinIO, %s of %s runs, seconds)\n' "$stat" "$runs"
  printf '%-26s %9s %9s %9s %12s %s\n' case s3bridge aws rclone ratio target
  for c in up_big up_small down_big down_small; do
    want "$c" || continue
    ran=$((ran + 1))
    pick() { [ "$1" = - ] && echo - || $stat "$1"; }
    s=$(pick "${T[${c}_s3b]}") a=$(pick "${T[${c}_aws]}") r=$(pick "${T[${c}_rclone]}")
    if [ "$a" = - ]; then peer=$r; elif [ "$r" = - ]; then peer=$a; else peer=$(echo "if ($a < $r) $a else $r" | bc -l); fi
    ratio=$(echo "scale=2; $s / $peer" | bc -l)
    ok=$( (( $(echo "$ratio <= 1.00" | bc) )) && echo "met" || echo "MISSED" )
    [ "$ok" = met ] && met=$((met + 1))
    case $c in up_big) name="upload 1 x 1 GiB";; up_small) name="upload 2000 x 64 KiB";; down_big) name="download 1 x 1 GiB";; down_small) name="download 2000 x 64 KiB";; esac
    fmt2() { [ "$1" = - ] && echo - || printf '%.2f' "$1"; }
    printf '%-26s %9s %9s %9s %12s %s\n' "$name" "$(fmt2 "$s")" "$(fmt2 "$a")" "$(fmt2 "$r")" "${ratio}x" "$ok"
  done
  printf 'ratio = s3bridge / faster peer (%s); target ≤ 1.00 in each case: %d of %d met\n' "$stat" "$met" "$ran"
}
table median
table best
