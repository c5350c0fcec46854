#!/usr/bin/env bash
# Pipeline benchmark (issue 10): an agent running PostgreSQL → S3 pipelines
# against local MinIO, measured against references in the same run, on
# narrow rows (8 mixed-type columns, those of bench/export.sh):
#
#   streaming  BENCH_ROWS rows inserted in transactions of BENCH_TX_ROWS rows
#              while nothing reads the slots, then drained: pg_recvlogical with
#              wal2json (format-version 2) writing the change stream to
#              /dev/null (test_decoding where the server's
#              output_plugin_libraries refuses wal2json; the script says so),
#              from its own slot, up to the LSN of a logical message
#              written after the last commit (--endpos), vs an agent started
#              on the pipeline's slot until the pipeline's checkpoint_lsn
#              (s3bridge.pipeline_status, the figure of `pipeline show`) reaches
#              that LSN: every change decoded, in S3 and checkpointed. The
#              pipeline's time includes the agent's start and up to one
#              --flush-interval (1s) for the last flush.     (targets: >= 50,000 rows/s
#                                                             and >= 0.8x pg_recvlogical)
#   latency    bench/internal/cdclatency commits transactions of 100 rows at
#              BENCH_RATE rows/s for BENCH_LATENCY_SECS into a table a
#              pipeline with --flush-interval 1s streams, and lists the
#              table's changes/ prefix every 50 ms, reading each new object:
#              a transaction's latency is the time the first listing that
#              showed an object holding it returned, minus the time its COMMIT
#              returned, both on that program's clock. p50, p99, max.
#                                                            (target: p99 < 2 s)
#   snapshot   the BENCH_ROWS-row table copied by a pipeline with --snapshot
#              initial_only (from the agent's log: the table's copy started to
#              the copy durable in S3; slot creation, which waits for the
#              server's running transactions, is printed apart) vs
#              s3bridge export --format parquet of SELECT * of the same table.
#                                                            (target: <= 1.3x)
#   big tx     one INSERT of BENCH_BIGTX rows committed at once; the time from
#              its commit to the checkpoint past it.
# plus the agent's peak RSS (VmHWM of /proc/PID/status; a fresh agent for each
# case, so each figure is that case's) and the export's (/usr/bin/time -v).
#                                                            (target: < 256 MB)
#
#   bench/pipeline.sh                       # 2 M rows, 1 M-row transaction, best of 3
#   BENCH_ROWS=200000 BENCH_BIGTX=200000 BENCH_RUNS=1 bench/pipeline.sh
#   BENCH_BIGTX=10000000 bench/pipeline.sh  # the issue's 10 M-row transaction
#   BENCH_RATE=5000 BENCH_LATENCY_SECS=30 BENCH_TX_ROWS=1000 (defaults)
#   S3BRIDGE_BIN=/path/to/s3bridge bench/pipeline.sh   # a prebuilt binary
#   BENCH_CASES=streaming bench/pipeline.sh # some cases only: any of
#                                           # snapshot streaming latency bigtx
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
rows=${BENCH_ROWS:-2000000}
runs=${BENCH_RUNS:-3}
bigtx=${BENCH_BIGTX:-1000000}
txrows=${BENCH_TX_ROWS:-1000}
rate=${BENCH_RATE:-5000}
lat_secs=${BENCH_LATENCY_SECS:-30}
cases=" ${BENCH_CASES:-snapshot streaming latency bigtx} "
for c in $cases; do
  case $c in snapshot | streaming | latency | bigtx) ;; *) echo "BENCH_CASES: unknown case $c" >&2; exit 2 ;; esac
done
# want CASE: CASE is among BENCH_CASES.
want() { [[ $cases == *" $1 "* ]]; }
bench_setup pipelinebench
bin=${S3BRIDGE_BIN:-$work/s3bridge}
[ -n "${S3BRIDGE_BIN:-}" ] || go build -o "$bin" ./cmd/s3bridge
go build -o "$work/cdclatency" ./bench/internal/cdclatency
major=$(( $(psql -Atq -h 127.0.0.1 -U postgres -c 'SHOW server_version_num') / 10000 ))
ls /usr/lib/postgresql/"$major"/lib/wal2json.so >/dev/null 2>&1 || apt_install "postgresql-$major-wal2json"
refslot=bench_ref_$$
apid=
# The slots go before the database (PostgreSQL refuses to drop a database
# with slots), the agent before the slots.
pipeline_cleanup() {
  if [ -n "$apid" ]; then kill -TERM "$apid" 2>/dev/null || true; wait "$apid" 2>/dev/null || true; fi
  psql -q -h 127.0.0.1 -U postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '$db'" >/dev/null 2>&1 || true
  bench_cleanup
}
trap pipeline_cleanup EXIT

q() { psql -Atq -h 127.0.0.1 -U postgres -d "$db" -c "$1"; }
now() { date +%s.%N; }
cols="i, 'name ' || i || CASE WHEN i % 10 = 0 THEN ', with \"quotes\"' ELSE '' END, (i % 100000) / 100.0, i % 1000,
  timestamp '2026-01-01' + i * interval '1 second', i % 2 = 0, i * 0.5, md5(i::text)"
echo "generating $rows rows in PostgreSQL" >&2
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db"
psql -q -h 127.0.0.1 -U postgres -d "$db" <<SQL
CREATE TABLE big (id bigint PRIMARY KEY, name text, amount numeric(12,2), qty int, ts timestamp, flag boolean, score float8, note text);
INSERT INTO big SELECT $cols FROM generate_series(1, $(want snapshot && echo "$rows" || echo 0)) i;
CREATE TABLE t (LIKE big INCLUDING ALL);
CREATE TABLE lat (LIKE big INCLUDING ALL);
CREATE TABLE bigtx (LIKE big INCLUDING ALL);
VACUUM ANALYZE big;
SQL
"$bin" attach --db "$pg" --endpoint "$S3BRIDGE_TEST_S3_ENDPOINT" >/dev/null
aws_s3 mb "s3://$bucket"

# create NAME TABLE MODE: a pipeline of TABLE under the prefix NAME/. Names
# end in the script's PID: slot names are the server's, not the database's.
create() {
  "$bin" pipeline create "$1" --db "$pg" --source "$pg" --tables "public.$2" --bucket "$bucket" --prefix "$1/" \
    --flush-interval 1s --snapshot "$3" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
}
drop() { "$bin" pipeline drop --db "$pg" "$1" >/dev/null; }
# A fresh agent for each case, so that its VmHWM is the case's peak RSS.
agent_start() { "$bin" agent --db "$pg" --log-level info >"$work/agent-$1.log" 2>&1 & apid=$!; }
agent_peak() { awk '/^VmHWM/ {print $2}' "/proc/$apid/status"; } # kB
# cpu PID: the process's CPU seconds (user + system) so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; }
agent_stop() { kill -TERM "$apid"; wait "$apid" || true; apid=; }
# wait_until SECONDS CMD…: polls CMD every 0.1 s; fails after SECONDS.
wait_until() {
  local deadline
  deadline=$(($(date +%s) + $1)); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "timed out waiting for: $*" >&2; tail -5 "$work"/agent-*.log >&2; exit 1; }
    kill -0 "$apid" 2>/dev/null || { echo "the agent exited" >&2; tail -20 "$work"/agent-*.log >&2; exit 1; }
    sleep 0.1
  done
}
# past NAME LSN: the pipeline's checkpoint is at or past LSN.
past() { [ "$(q "SELECT coalesce(nullif(checkpoint_lsn::text, '')::pg_lsn >= '$2'::pg_lsn, false) FROM s3bridge.pipeline_status WHERE name = '$1'")" = t ]; }
# fence: a non-transactional logical message's LSN; every change committed
# before it is decoded once a stream passes it.
fence() { q "SELECT pg_logical_emit_message(false, 'bench', 'fence')"; }
logged() { grep -q "$2" "$work/agent-$1.log"; }
# logtime NAME PATTERN: the time of the agent log's first line matching.
logtime() { date -d "$(grep -m1 "$2" "$work/agent-$1.log" | sed 's/^time=\([^ ]*\).*/\1/')" +%s.%N; }
secs() { local s e; s=$(now); "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }; e=$(now); echo "$e - $s" | bc; }
min() { echo "if ($1 < $2) $1 else $2" | bc; }
peak() { echo "$1 $2" >>"$work/rss"; } # CASE KB

# Snapshot: s3bridge export (Parquet) then a pipeline's copy, interleaved.
t_export=999999 t_copy=999999 t_snap_e2e=999999
want snapshot && for i in $(seq "$runs"); do
  s=$(now)
  /usr/bin/time -v "$bin" export --db "$pg" --query "SELECT * FROM big" --format parquet --overwrite \
    "s3://$bucket/export/big" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  e=$(now)
  t_export=$(min "$(echo "$e - $s" | bc)" "$t_export")
  peak "export" "$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/err")"
  create "snap${i}_$$" big initial_only
  s=$(now)
  agent_start "snap${i}_$$"
  wait_until 3600 logged "snap${i}_$$" "table copied"
  wait_until 60 past "snap${i}_$$" 0/1
  e=$(now)
  peak "snapshot" "$(agent_peak)"
  agent_stop
  t=$(echo "$(logtime "snap${i}_$$" "table copied") - $(logtime "snap${i}_$$" "pipeline schema version")" | bc)
  t_copy=$(min "$t" "$t_copy")
  t_snap_e2e=$(min "$(echo "$e - $s" | bc)" "$t_snap_e2e")
  drop "snap${i}_$$"
done
want snapshot && parts=$(aws s3 ls --recursive "s3://$bucket/snap1_$$/" | grep -c '/snapshot/.*part-')

if want streaming; then
# Streaming: the same WAL drained by pg_recvlogical + wal2json and by the
# pipeline, each from its own slot, both created before the changes.
create "thr_$$" t never
agent_start thr-start
wait_until 120 past "thr_$$" 0/1
agent_stop
# A server whose output_plugin_libraries does not list wal2json refuses it
# (a setting some builds add): the benchmark adds it, as the hint of that
# error says, when it may (a superuser); otherwise test_decoding, the other
# classic text plugin, is the reference.
libs=$(q "SELECT setting FROM pg_settings WHERE name = 'output_plugin_libraries'" 2>/dev/null || true)
if [[ -n $libs && $libs != *wal2json* ]]; then
  # A list setting: each library its own literal ('a, b' would be one name).
  list=$(printf "'%s', " ${libs//,/ })
  q "ALTER SYSTEM SET output_plugin_libraries = ${list}'wal2json'" >/dev/null 2>&1 && q "SELECT pg_reload_conf()" >/dev/null 2>&1 &&
    printf 'output_plugin_libraries: added wal2json (ALTER SYSTEM, reload)\n' >&2
  sleep 1
fi
plugin=wal2json plugin_opts=(-o format-version=2)
if ! q "SELECT pg_create_logical_replication_slot('$refslot', 'wal2json')" >/dev/null 2>"$work/err"; then
  printf 'wal2json refused (%s): the reference is test_decoding\n' "$(head -1 "$work/err")" >&2
  plugin=test_decoding plugin_opts=()
  q "SELECT pg_create_logical_replication_slot('$refslot', 'test_decoding')" >/dev/null
fi
t_recv=999999 t_pipe=999999
for i in $(seq "$runs"); do
  off=$(( (i - 1) * rows ))
  echo "run $i: generating $rows changes" >&2
  q "DO \$\$ BEGIN FOR b IN 0..$(( (rows + txrows - 1) / txrows - 1 )) LOOP
       INSERT INTO t SELECT $cols FROM generate_series($off + b * $txrows + 1, $off + least((b + 1) * $txrows, $rows)) i;
       COMMIT; END LOOP; END \$\$"
  end=$(fence)
  t=$(secs pg_recvlogical -h 127.0.0.1 -U postgres -d "$db" --slot "$refslot" --start --endpos "$end" --no-loop \
    "${plugin_opts[@]}" -F 0 -f /dev/null)
  t_recv=$(min "$t" "$t_recv")
  s=$(now)
  agent_start "thr$i"
  wait_until 3600 past "thr_$$" "$end"
  e=$(now)
  peak "streaming" "$(agent_peak)"
  cpu_pipe=$(cpu "$apid")
  cpu_wal=$(cpu "$(q "SELECT pid FROM pg_stat_replication WHERE application_name = 's3bridge_thr_$$'")")
  agent_stop
  t_pipe=$(min "$(echo "$e - $s" | bc)" "$t_pipe")
done
n=$(q "SELECT count(*) FROM t")
[ "$n" = $((rows * runs)) ] || { echo "table t holds $n rows, want $((rows * runs))" >&2; exit 1; }
drop "thr_$$"
q "SELECT pg_drop_replication_slot('$refslot')" >/dev/null
fi

lat=
field() { echo "$lat" | awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}'; }
if want latency; then
# Latency at BENCH_RATE rows/s with --flush-interval 1s.
create "lat_$$" lat never
agent_start lat
wait_until 120 past "lat_$$" 0/1
echo "latency: $lat_secs s at $rate rows/s" >&2
lat=$("$work/cdclatency" -db "$pg" -table lat -rate "$rate" -tx-rows 100 -duration "${lat_secs}s" \
  -bucket "$bucket" -prefix "lat_$$/$db/public/lat/changes/")
peak "latency" "$(agent_peak)"
agent_stop
drop "lat_$$"
fi

if want bigtx; then
# One big transaction.
create "btx_$$" bigtx never
agent_start btx
wait_until 120 past "btx_$$" 0/1
echo "big transaction: $bigtx rows" >&2
t_insert=$(secs q "INSERT INTO bigtx SELECT $cols FROM generate_series(1, $bigtx) i")
s=$(now)
end=$(fence)
wait_until 3600 past "btx_$$" "$end"
e=$(now)
t_btx=$(echo "$e - $s" | bc)
peak "big transaction" "$(agent_peak)"
agent_stop
drop "btx_$$"
fi

mb() { echo "$(( $1 / 1024 ))"; }
rss() { awk -v c="$1" '{k = $1; for (i = 2; i < NF; i++) k = k " " $i} k == c && $NF > m {m = $NF} END {print m + 0}' "$work/rss"; }
ok() { (( $(echo "$1 $2 $3" | bc) )) && echo met || echo MISSED; }
printf '\ns3bridge pipeline benchmark: %s rows of 8 columns, to local MinIO, best of %s\n' "$rows" "$runs"
printf '%-72s %8s %10s %8s\n' case seconds "rows/s" "RSS MB"
row() { printf '%-72s %8.2f %10.0f %8s\n' "$1" "$2" "$(echo "$3 / $2" | bc)" "$4"; }
if want streaming; then
  row "streaming: pg_recvlogical + $plugin to /dev/null ($txrows-row txs)" "$t_recv" "$rows" "-"
  row "streaming: s3bridge pipeline, agent start to checkpoint" "$t_pipe" "$rows" "$(mb "$(rss streaming)")"
  printf '  (last streaming run: CPU seconds of the agent %s, of its walsender %s)\n' "$cpu_pipe" "$cpu_wal"
fi
if want snapshot; then
  row "snapshot: s3bridge export --format parquet" "$t_export" "$rows" "$(mb "$(rss export)")"
  row "snapshot: s3bridge pipeline copy ($parts parts)" "$t_copy" "$rows" "$(mb "$(rss snapshot)")"
  row "snapshot: s3bridge pipeline, agent start to checkpoint (with slot)" "$t_snap_e2e" "$rows" "-"
fi
if want bigtx; then
  row "big transaction: INSERT of $bigtx rows" "$t_insert" "$bigtx" "-"
  row "big transaction: commit to checkpoint" "$t_btx" "$bigtx" "$(mb "$(rss "big transaction")")"
fi
want latency && printf 'latency at %s rows/s (%s transactions, achieved %s rows/s): p50 %s ms, p99 %s ms, max %s ms; RSS %s MB\n' \
  "$rate" "$(field transactions)" "$(field rows_per_s)" "$(field p50_ms)" "$(field p99_ms)" "$(field max_ms)" "$(mb "$(rss latency)")"
if want streaming; then
  r_thr=$(echo "$rows / $t_pipe" | bc)
  r_recv=$(echo "scale=2; $t_recv / $t_pipe" | bc)
  printf 'streaming throughput: %s rows/s (target >= 50000: %s)\n' "$r_thr" "$(ok "$r_thr" ">=" 50000)"
  printf 'ratio streaming s3bridge / pg_recvlogical + %s (rows/s): %sx (target >= 0.8: %s)\n' "$plugin" "$r_recv" "$(ok "$r_recv" ">=" 0.8)"
fi
want latency && printf 'latency p99: %s ms (target < 2000: %s)\n' "$(field p99_ms)" "$(ok "$(field p99_ms)" "<" 2000)"
if want snapshot; then
  r_snap=$(echo "scale=2; $t_copy / $t_export" | bc)
  printf 'ratio snapshot copy / export parquet: %sx (target <= 1.3: %s)\n' "$r_snap" "$(ok "$r_snap" "<=" 1.3)"
fi
top=$(sort -k2 -n "$work/rss" | awk '{print $NF}' | sort -n | tail -1)
printf 'peak RSS across all cases: %s MB (target < 256 MB: %s)\n' "$(mb "$top")" "$(ok "$top" "<" 262144)"
printf 'load average (1, 5, 15 min) at the end: %s, on %s cores\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
