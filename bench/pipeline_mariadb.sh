#!/usr/bin/env bash
# MariaDB pipeline benchmark (issue 11): an agent running a MariaDB → S3
# pipeline against local MinIO, measured against a reference in the same
# run, on narrow rows (8 mixed-type columns, as bench/pipeline.sh):
#
#   streaming  BENCH_ROWS rows inserted into the binlog MariaDB
#              (127.0.0.1:3307, root) in transactions of BENCH_TX_ROWS rows
#              while no agent runs, between two FLUSH BINARY LOGS, so that
#              the changes fill whole binary-log files; then drained:
#              mariadb-binlog --read-from-remote-server --raw copying exactly
#              those files (named on its command line, so it stops at the
#              end of the last one: no --stop-never) into the work
#              directory, vs an agent started on the pipeline (created
#              with --snapshot never before the changes) until the
#              pipeline's resume token (checkpoint_position of `pipeline
#              show --json`) holds the GTID of the last transaction: every
#              change decoded, in S3 and checkpointed. The pipeline's time
#              includes the agent's start and up to one --flush-interval
#              (1s) for the last flush. A second reference decodes the
#              same files' row events to text (mariadb-binlog -v
#              --base64-output=decode-rows > /dev/null): --raw only copies
#              bytes, which no reader of the rows can match.
#                                                (targets: >= 50,000 rows/s
#                                                  and >= 0.8x mariadb-binlog)
# plus the agent's peak RSS (VmHWM of /proc/PID/status; a fresh agent for
# each run).                                           (target: < 256 MB)
#   latency    bench/internal/cdclatency (its MariaDB mode) commits
#              transactions of 100 rows at BENCH_RATE rows/s for
#              BENCH_LATENCY_SECS into a table a pipeline with
#              --flush-interval 1s streams, and lists the table's changes/
#              prefix every 50 ms, reading each new object: commit returned
#              to first listing showing it, p50, p99, max, as in
#              bench/pipeline.sh.                     (target: p99 < 2 s)
#
#   bench/pipeline_mariadb.sh                       # 2 M rows, best of 3
#   BENCH_ROWS=500000 BENCH_RUNS=1 bench/pipeline_mariadb.sh
#   BENCH_TX_ROWS=1000 BENCH_RATE=5000 BENCH_LATENCY_SECS=30 (defaults; 0 s: no latency case)
#   S3BRIDGE_BIN=/path/to/s3bridge bench/pipeline_mariadb.sh   # a prebuilt binary
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
rows=${BENCH_ROWS:-2000000}
runs=${BENCH_RUNS:-3}
txrows=${BENCH_TX_ROWS:-1000}
rate=${BENCH_RATE:-5000}
lat_secs=${BENCH_LATENCY_SECS:-30}
port=${S3BRIDGE_TEST_MARIADB_BINLOG_PORT:-3307}
bench_setup pipelinemariabench
bin=${S3BRIDGE_BIN:-$work/s3bridge}
[ -n "${S3BRIDGE_BIN:-}" ] || go build -o "$bin" ./cmd/s3bridge
go build -o "$work/cdclatency" ./bench/internal/cdclatency
inst="sqlite://$work/instance.db"
name=mthr_$$
apid=
m() { mariadb -h 127.0.0.1 -P "$port" -uroot -N -B "$@"; }
# The agent before the database it reads.
maria_cleanup() {
  if [ -n "$apid" ]; then kill -TERM "$apid" 2>/dev/null || true; wait "$apid" 2>/dev/null || true; fi
  m -e "DROP DATABASE IF EXISTS \`$db\`" >/dev/null 2>&1 || true
  bench_cleanup
}
trap maria_cleanup EXIT

now() { date +%s.%N; }
min() { echo "if ($1 < $2) $1 else $2" | bc; }
# A server id of the run's own (it must differ from every replica's).
source_url="mysql://root@127.0.0.1:$port/$db?server_id=$((1 << 30 | $$))"
m -e "SET GLOBAL binlog_row_metadata = FULL; CREATE DATABASE \`$db\`"
m "$db" -e 'CREATE TABLE `t` (`id` bigint PRIMARY KEY, `name` varchar(100), `amount` decimal(12,2), `qty` int,
  `ts` datetime, `flag` boolean, `score` double, `note` char(32)) ENGINE=InnoDB'
"$bin" attach --db "$inst" --endpoint "$S3BRIDGE_TEST_S3_ENDPOINT" >/dev/null
aws_s3 mb "s3://$bucket"
"$bin" pipeline create "$name" --db "$inst" --source "$source_url" --tables "$db.t" --bucket "$bucket" --prefix "$name/" \
  --flush-interval 1s --snapshot never >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }

agent_start() { "$bin" agent --db "$inst" --log-level info >"$work/agent-$1.log" 2>&1 & apid=$!; }
agent_peak() { awk '/^VmHWM/ {print $2}' "/proc/$apid/status"; } # kB
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; }
agent_stop() { kill -TERM "$apid"; wait "$apid" || true; apid=; }
wait_until() {
  local deadline
  deadline=$(($(date +%s) + $1)); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "timed out waiting for: $*" >&2; tail -5 "$work"/agent-*.log >&2; exit 1; }
    kill -0 "$apid" 2>/dev/null || { echo "the agent exited" >&2; tail -20 "$work"/agent-*.log >&2; exit 1; }
    sleep 0.1
  done
}
position() { "$bin" pipeline show --db "$inst" --json "$name" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("checkpoint_position") or "")'; }
# past GTID: the resume token holds GTID's domain at GTID's sequence number
# or later (the token: "D-S-N,… file:offset").
past() {
  python3 - "$(position)" "$1" <<'PY'
import sys
token, gtid = sys.argv[1], sys.argv[2]
d, _, n = gtid.split("-")
for g in (token.split() or [""])[0].split(","):
    p = g.split("-")
    if len(p) == 3 and p[0] == d and int(p[2]) >= int(n):
        sys.exit(0)
sys.exit(1)
PY
}
started() { [ -n "$(position)" ]; }

agent_start start
wait_until 120 started
agent_stop
t_ref=999999 t_dec=999999 t_pipe=999999 peak=0
for i in $(seq "$runs"); do
  off=$(( (i - 1) * rows ))
  echo "run $i: generating $rows changes" >&2
  first=$(m -e "FLUSH BINARY LOGS; SHOW MASTER STATUS" | cut -f1)
  {
    for ((b = 0; b * txrows < rows; b++)); do
      lo=$((off + b * txrows + 1)) hi=$((off + (b + 1) * txrows > off + rows ? off + rows : off + (b + 1) * txrows))
      echo "INSERT INTO \`t\` SELECT seq, CONCAT('name ', seq, IF(seq % 10 = 0, ', with \"quotes\"', '')), (seq % 100000) / 100.0,
        seq % 1000, TIMESTAMP '2026-01-01 00:00:00' + INTERVAL seq SECOND, seq % 2 = 0, seq * 0.5, MD5(seq) FROM seq_${lo}_to_${hi};"
    done
    echo "SELECT @@last_gtid;"
  } | m "$db" >"$work/gtid"
  last=$(tail -1 "$work/gtid")
  files=$(m -e "FLUSH BINARY LOGS; SHOW BINARY LOGS" | cut -f1 | awk -v f="$first" '$0 >= f' | head -n -1)
  rm -rf "$work/raw" && mkdir "$work/raw"
  s=$(now)
  # shellcheck disable=SC2086 # one argument per file
  mariadb-binlog --read-from-remote-server -h 127.0.0.1 -P "$port" -uroot --raw --result-file="$work/raw/" $files
  e=$(now)
  t_ref=$(min "$(echo "$e - $s" | bc)" "$t_ref")
  bytes=$(cat "$work"/raw/* | wc -c)
  rm -rf "$work/raw"
  # The decoding reference: the same files' row events decoded to text
  # (-v --base64-output=decode-rows), as a reader of the rows must.
  s=$(now)
  # shellcheck disable=SC2086
  mariadb-binlog --read-from-remote-server -h 127.0.0.1 -P "$port" -uroot -v --base64-output=decode-rows $files >/dev/null
  e=$(now)
  t_dec=$(min "$(echo "$e - $s" | bc)" "$t_dec")
  s=$(now)
  agent_start "thr$i"
  wait_until 3600 past "$last"
  e=$(now)
  p=$(agent_peak)
  [ "$p" -gt "$peak" ] && peak=$p
  cpu_pipe=$(cpu "$apid")
  agent_stop
  t_pipe=$(min "$(echo "$e - $s" | bc)" "$t_pipe")
done
n=$(m "$db" -e 'SELECT count(*) FROM `t`')
[ "$n" = $((rows * runs)) ] || { echo "table t holds $n rows, want $((rows * runs))" >&2; exit 1; }
# The rows the change files hold, as python3-avro (an independent reader)
# counts them: every row, once.
mkdir "$work/changes"
aws s3 cp --quiet --recursive --exclude '*' --include '*/changes/*' "s3://$bucket/$name/" "$work/changes/"
objects=$(find "$work/changes" -type f | wc -l)
written=$(find "$work/changes" -type f -print0 | xargs -0 /usr/bin/python3 -W ignore -c '
import sys
from avro.datafile import DataFileReader
from avro.io import DatumReader
print(sum(sum(1 for _ in DataFileReader(open(f, "rb"), DatumReader())) for f in sys.argv[1:]))')
[ "$written" = $((rows * runs)) ] || { echo "the change files hold $written rows, want $((rows * runs))" >&2; exit 1; }
"$bin" pipeline drop --db "$inst" "$name" >/dev/null

lat= lat_peak=0
field() { echo "$lat" | awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}'; }
if [ "$lat_secs" != 0 ]; then
  # Latency at BENCH_RATE rows/s with --flush-interval 1s.
  m "$db" -e 'CREATE TABLE `lat` LIKE `t`'
  name=mlat_$$
  "$bin" pipeline create "$name" --db "$inst" --source "$source_url" --tables "$db.lat" --bucket "$bucket" --prefix "$name/" \
    --flush-interval 1s --snapshot never >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  agent_start lat
  wait_until 120 started
  echo "latency: $lat_secs s at $rate rows/s" >&2
  lat=$("$work/cdclatency" -db "$source_url" -table lat -rate "$rate" -tx-rows 100 -duration "${lat_secs}s" \
    -bucket "$bucket" -prefix "$name/$db/$db/lat/changes/")
  lat_peak=$(agent_peak)
  agent_stop
  "$bin" pipeline drop --db "$inst" "$name" >/dev/null
fi

ok() { (( $(echo "$1 $2 $3" | bc) )) && echo met || echo MISSED; }
printf '\ns3bridge MariaDB pipeline benchmark: %s rows of 8 columns in %s-row transactions, to local MinIO, best of %s\n' "$rows" "$txrows" "$runs"
printf '%-72s %8s %10s %8s\n' case seconds "rows/s" "RSS MB"
row() { printf '%-72s %8.2f %10.0f %8s\n' "$1" "$2" "$(echo "$3 / $2" | bc)" "$4"; }
row "streaming: mariadb-binlog --read-from-remote-server --raw ($((bytes / 1048576)) MB)" "$t_ref" "$rows" "-"
row "streaming: mariadb-binlog --read-from-remote-server -v (decoded to /dev/null)" "$t_dec" "$rows" "-"
row "streaming: s3bridge pipeline, agent start to checkpoint" "$t_pipe" "$rows" "$((peak / 1024))"
printf '  (last run: CPU seconds of the agent %s; %s change objects, %s rows written in all)\n' "$cpu_pipe" "$objects" "$written"
r_thr=$(echo "$rows / $t_pipe" | bc)
r_ref=$(echo "scale=2; $t_ref / $t_pipe" | bc)
printf 'streaming throughput: %s rows/s (target >= 50000: %s)\n' "$r_thr" "$(ok "$r_thr" ">=" 50000)"
r_dec=$(echo "scale=2; $t_dec / $t_pipe" | bc)
printf 'ratio streaming s3bridge / mariadb-binlog --raw (rows/s): %sx (target >= 0.8: %s)\n' "$r_ref" "$(ok "$r_ref" ">=" 0.8)"
printf 'ratio streaming s3bridge / mariadb-binlog -v decoding (rows/s): %sx (target >= 0.8: %s)\n' "$r_dec" "$(ok "$r_dec" ">=" 0.8)"
if [ -n "$lat" ]; then
  printf 'latency at %s rows/s (%s transactions, achieved %s rows/s): p50 %s ms, p99 %s ms, max %s ms; RSS %s MB\n' \
    "$rate" "$(field transactions)" "$(field rows_per_s)" "$(field p50_ms)" "$(field p99_ms)" "$(field max_ms)" "$((lat_peak / 1024))"
  printf 'latency p99: %s ms (target < 2000: %s)\n' "$(field p99_ms)" "$(ok "$(field p99_ms)" "<" 2000)"
  [ "$lat_peak" -gt "$peak" ] && peak=$lat_peak
fi
printf 'peak RSS of the agents: %s MB (target < 256 MB: %s)\n' "$((peak / 1024))" "$(ok "$peak" "<" 262144)"
printf 'load average (1, 5, 15 min) at the end: %s, on %s cores\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
