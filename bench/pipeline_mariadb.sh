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
#   client     the protocol floor: bench/internal/binlogread, s3bridge's
#              replication client (pipeline/binlog) alone, streaming the
#              same files from the server (the first's offset 4 to the
#              last's end), checking every event's CRC32 and decoding
#              every row's values into the pipeline's Go values, which it
#              discards, vs the --raw copy of the same run.
#                                                (target: >= 0.8x --raw)
# Each case's time is the best of the runs, with the median beside it;
# a ratio's median is the median of the runs' own ratios.
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
#   BENCH_PROFILE=DIR bench/pipeline_mariadb.sh     # CPU profiles of binlogread in DIR (which exists), binlogread-RUN.prof
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
go build -o "$work/binlogread" ./bench/internal/binlogread
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
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
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
t_ref=999999 t_dec=999999 t_pipe=999999 t_cli=999999 peak=0
all_ref=() all_dec=() all_pipe=() all_cli=() all_rcli=()
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
  m -e "FLUSH BINARY LOGS; SHOW BINARY LOGS" | awk -v f="$first" '$1 >= f' | head -n -1 >"$work/logs"
  files=$(cut -f1 "$work/logs")
  rm -rf "$work/raw" && mkdir "$work/raw"
  s=$(now)
  # shellcheck disable=SC2086 # one argument per file
  mariadb-binlog --read-from-remote-server -h 127.0.0.1 -P "$port" -uroot --raw --result-file="$work/raw/" $files
  e=$(now)
  r=$(echo "$e - $s" | bc)
  t_ref=$(min "$r" "$t_ref") all_ref+=("$r")
  bytes=$(cat "$work"/raw/* | wc -c)
  rm -rf "$work/raw"
  # The client alone, on the same files (its own server id: the agent's
  # is registered with the server by the pipeline).
  prof=()
  [ -z "${BENCH_PROFILE:-}" ] || prof=(-cpuprofile "$BENCH_PROFILE/binlogread-$i.prof")
  s=$(now)
  cli=$("$work/binlogread" -url "mysql://root@127.0.0.1:$port/?server_id=$((1 << 29 | $$))" \
    -start "$(head -1 "$work/logs" | cut -f1):4" -stop "$(tail -1 "$work/logs" | tr '\t' :)" "${prof[@]}")
  e=$(now)
  c=$(echo "$e - $s" | bc)
  cli_rows=$(echo "$cli" | awk '{print $2}')
  [ "$cli_rows" -ge "$rows" ] || { echo "binlogread decoded $cli_rows rows, want at least $rows: $cli" >&2; exit 1; }
  t_cli=$(min "$c" "$t_cli") all_cli+=("$c") all_rcli+=("$(echo "scale=3; $r / $c" | bc)")
  # The decoding reference: the same files' row events decoded to text
  # (-v --base64-output=decode-rows), as a reader of the rows must.
  s=$(now)
  # shellcheck disable=SC2086
  mariadb-binlog --read-from-remote-server -h 127.0.0.1 -P "$port" -uroot -v --base64-output=decode-rows $files >/dev/null
  e=$(now)
  r=$(echo "$e - $s" | bc)
  t_dec=$(min "$r" "$t_dec") all_dec+=("$r")
  s=$(now)
  agent_start "thr$i"
  wait_until 3600 past "$last"
  e=$(now)
  p=$(agent_peak)
  [ "$p" -gt "$peak" ] && peak=$p
  cpu_pipe=$(cpu "$apid")
  agent_stop
  r=$(echo "$e - $s" | bc)
  t_pipe=$(min "$r" "$t_pipe") all_pipe+=("$r")
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
printf '\ns3bridge MariaDB pipeline benchmark: %s rows of 8 columns in %s-row transactions, to local MinIO, best (and median) of %s\n' "$rows" "$txrows" "$runs"
printf '%-80s %8s %10s %10s %8s\n' case seconds "rows/s" "median" "RSS MB"
row() { printf '%-80s %8.3f %10.0f %10.0f %8s\n' "$1" "$2" "$(echo "$4 / $2" | bc)" "$(echo "$4 / $3" | bc)" "$5"; }
row "streaming: mariadb-binlog --read-from-remote-server --raw ($((bytes / 1048576)) MB)" "$t_ref" "$(median "${all_ref[@]}")" "$rows" "-"
row "client: s3bridge binlog client, every row decoded, discarded (binlogread)" "$t_cli" "$(median "${all_cli[@]}")" "$rows" "-"
row "streaming: mariadb-binlog --read-from-remote-server -v (decoded to /dev/null)" "$t_dec" "$(median "${all_dec[@]}")" "$rows" "-"
row "streaming: s3bridge pipeline, agent start to checkpoint" "$t_pipe" "$(median "${all_pipe[@]}")" "$rows" "$((peak / 1024))"
printf '  (last run: binlogread %s)\n' "$cli"
printf '  (last run: CPU seconds of the agent %s; %s change objects, %s rows written in all)\n' "$cpu_pipe" "$objects" "$written"
r_thr=$(echo "$rows / $t_pipe" | bc)
r_ref=$(echo "scale=2; $t_ref / $t_pipe" | bc)
printf 'streaming throughput: %s rows/s (target >= 50000: %s)\n' "$r_thr" "$(ok "$r_thr" ">=" 50000)"
r_dec=$(echo "scale=2; $t_dec / $t_pipe" | bc)
r_cli=$(printf '%.2f' "$(echo "scale=3; $t_ref / $t_cli" | bc)")
m_cli=$(printf '%.2f' "$(median "${all_rcli[@]}")")
printf 'ratio s3bridge binlog client / mariadb-binlog --raw (rows/s, the protocol floor): best %sx, median %sx (target >= 0.8: %s)\n' \
  "$r_cli" "$m_cli" "$(ok "$m_cli" ">=" 0.8)"
printf 'ratio streaming s3bridge pipeline / mariadb-binlog --raw (rows/s): %sx (no target: a whole pipeline against a byte copy)\n' "$r_ref"
printf 'ratio streaming s3bridge / mariadb-binlog -v decoding (rows/s): %sx (target >= 0.8: %s)\n' "$r_dec" "$(ok "$r_dec" ">=" 0.8)"
if [ -n "$lat" ]; then
  printf 'latency at %s rows/s (%s transactions, achieved %s rows/s): p50 %s ms, p99 %s ms, max %s ms; RSS %s MB\n' \
    "$rate" "$(field transactions)" "$(field rows_per_s)" "$(field p50_ms)" "$(field p99_ms)" "$(field max_ms)" "$((lat_peak / 1024))"
  printf 'latency p99: %s ms (target < 2000: %s)\n' "$(field p99_ms)" "$(ok "$(field p99_ms)" "<" 2000)"
  [ "$lat_peak" -gt "$peak" ] && peak=$lat_peak
fi
printf 'peak RSS of the agents: %s MB (target < 256 MB: %s)\n' "$((peak / 1024))" "$(ok "$peak" "<" 262144)"
printf 'load average (1, 5, 15 min) at the end: %s, on %s cores\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
