#!/usr/bin/env bash
# bench/console.sh: the operator surface's targets (issue 12), each printed
# against its target:
#   - the console's task list and the API's, with BENCH_TASKS (default
#     100,000) tasks in a PostgreSQL instance: server time (curl's
#     time_starttransfer), median of BENCH_RUNS, for the first page, an
#     older page (by cursor) and filtered pages; target < 200 ms
#   - /metrics with 10 SQLite instances of BENCH_METRICS_TASKS (default
#     10,000) tasks each (and, for information, with the 100,000-task
#     PostgreSQL instance); target < 50 ms
#   - the server's RSS (VmRSS, sampled every 0.2 s, and VmHWM) while
#     bench/internal/ssefollow holds 1,000 Server-Sent Events streams
#     (BENCH_FOLLOWERS) on 50 running tasks whose progress and log move
#     every 0.2 s; target < 200 MB
#
#   bench/console.sh
#   BENCH_TASKS=10000 BENCH_RUNS=5 bench/console.sh   # a quick run
#   S3BRIDGE_BIN=/path/to/s3bridge bench/console.sh
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
tasks=${BENCH_TASKS:-100000} runs=${BENCH_RUNS:-20} mtasks=${BENCH_METRICS_TASKS:-10000}
followers=${BENCH_FOLLOWERS:-1000} hold=${BENCH_HOLD:-20}
bench_setup console
bin=${S3BRIDGE_BIN:-$work/s3bridge}
[ -n "${S3BRIDGE_BIN:-}" ] || go build -o "$bin" ./cmd/s3bridge
go build -o "$work/ssefollow" ./bench/internal/ssefollow
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; bench_cleanup' EXIT
aws_s3 mb "s3://$bucket" # bench_cleanup removes it
sql() { psql -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d "$db" "$@"; }

# serve NAME ARGS…: starts s3bridge serve and sets url and pid.
serve() {
  local name=$1; shift
  "$bin" serve --listen 127.0.0.1:0 --log-level warn "$@" 2>"$work/$name.log" &
  pid=$!
  pids+=("$pid")
  url=
  for _ in $(seq 100); do
    url=$(grep -o 'http://[0-9.:]*' "$work/$name.log" | head -1) && [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "serve $name did not start:" >&2; cat "$work/$name.log" >&2; exit 1; }
}

# ms URL: server time of one GET (time to first byte), in ms; fails on a
# status other than 200.
ms() {
  local out code t
  out=$(curl -sS -o /dev/null -H @"$auth" -w '%{http_code} %{time_starttransfer}' "$1")
  read -r code t <<<"$out"
  [ "$code" = 200 ] || { echo "GET $1: $code" >&2; exit 1; }
  awk -v t="$t" 'BEGIN { printf "%.2f", t * 1000 }'
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
missed=0
# report WHAT TARGET_MS URL: median of runs GETs after one warm-up.
report() {
  local what=$1 target=$2 u=$3 times="" m verdict
  ms "$u" >/dev/null
  for _ in $(seq "$runs"); do times+="$(ms "$u") "; done
  m=$(median "$times")
  if [ "$target" = - ]; then verdict="(information)"
  elif (( $(echo "$m < $target" | bc) )); then verdict="< $target ms: ok"
  else verdict="target < $target ms: MISSED"; missed=1; fi
  printf '%-58s %9.1f ms  %s\n' "$what" "$m" "$verdict"
}

# The instance: BENCH_TASKS tasks over the last 30 days, of every type and
# lifecycle, finished ones with run times, bytes and rows, as one INSERT.
echo "creating $tasks tasks in a PostgreSQL instance" >&2
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db"
"$bin" attach --db "$pg" --endpoint "$S3BRIDGE_TEST_S3_ENDPOINT" >/dev/null
sql <<EOF
INSERT INTO s3bridge.tasks (task_type, database_name, lifecycle, percent_complete, task_info, created_at, last_updated,
  started_at, finished_at, s3_object_arn, file_path, task_metadata, rows_processed, files_processed, bytes_processed)
SELECT (ARRAY['UPLOAD_TO_S3','DOWNLOAD_FROM_S3','LOAD_FROM_S3','EXPORT_TO_S3','LIST_FILES_ON_DISK'])[1 + i % 5],
  '$db', lc, CASE WHEN lc = 'SUCCESS' THEN 100 ELSE i % 100 END, 'bench task ' || i, at, at + interval '1 minute',
  CASE WHEN lc <> 'CREATED' THEN at END, CASE WHEN lc IN ('SUCCESS', 'ERROR', 'CANCELLED') THEN at + (i % 3600) * interval '1 second' END,
  'arn:aws:s3:::bench/key-' || i, 'file-' || i || '.csv', '{}', i % 1000, 1, i * 1024
FROM (SELECT i, now() - interval '30 days' + i * (interval '30 days' / $tasks) AS at,
  CASE WHEN i % 97 = 0 THEN 'IN_PROGRESS' WHEN i % 53 = 0 THEN 'ERROR' WHEN i % 31 = 0 THEN 'CANCELLED'
       WHEN i > $tasks - 200 THEN 'CREATED' ELSE 'SUCCESS' END AS lc
  FROM generate_series(1, $tasks) AS i) AS g;
ANALYZE s3bridge.tasks;
EOF
# The tokens go to curl in a header file and to ssefollow in its
# environment: never on a command line.
TOKEN=$("$bin" token create --db "$pg" --name bench --role viewer)
export BENCH_TOKEN=$TOKEN
auth=$work/auth
use_token() { printf 'Authorization: Bearer %s\n' "$1" >"$auth"; }
use_token "$TOKEN"

serve pg --db "$pg"
pg_url=$url pg_pid=$pid
cursor=$(curl -fsS -H @"$auth" "$pg_url/api/tasks?limit=50" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next_cursor"])')
# A cursor in the middle of the list, made as the server makes them
# (console/tasklist.go: created_at in Unix ns, instance index, task id).
deep=$(sql -At -c "SELECT (extract(epoch FROM created_at) * 1000000)::bigint * 1000 || '.0.' || task_id FROM s3bridge.tasks
  WHERE task_id = (SELECT max(task_id) / 2 FROM s3bridge.tasks)" | python3 -c 'import base64,sys; print(base64.urlsafe_b64encode(sys.stdin.read().strip().encode()).decode().rstrip("="))')
printf '\ns3bridge serve: task list with %s tasks in one PostgreSQL instance, median of %s, server time\n' "$tasks" "$runs"
report "console /tasks (first page, 50)" 200 "$pg_url/tasks"
report "console /tasks?type=EXPORT_TO_S3" 200 "$pg_url/tasks?type=EXPORT_TO_S3"
report "console /tasks?lifecycle=IN_PROGRESS" 200 "$pg_url/tasks?lifecycle=IN_PROGRESS"
report "console /tasks?lifecycle=ERROR&type=LOAD_FROM_S3&since=72h" 200 "$pg_url/tasks?lifecycle=ERROR&type=LOAD_FROM_S3&since=72h"
report "console /tasks, the next page (cursor)" 200 "$pg_url/tasks?cursor=$cursor"
report "console /tasks, the middle of the list (cursor)" 200 "$pg_url/tasks?cursor=$deep"
report "API /api/tasks (first page, 50)" 200 "$pg_url/api/tasks"
report "API /api/tasks?limit=500" 200 "$pg_url/api/tasks?limit=500"
report "API /api/tasks?lifecycle=CANCELLED (cursor)" 200 "$pg_url/api/tasks?lifecycle=CANCELLED&cursor=$cursor"
report "/metrics, this instance ($tasks tasks)" - "$pg_url/metrics"

# /metrics with 10 SQLite instances, the token in the first.
echo "creating 10 SQLite instances of $mtasks tasks" >&2
dbs=()
for i in $(seq 10); do
  f=$work/m$i.db
  "$bin" attach --db "sqlite://$f" --area "$work" >/dev/null
  sqlite3 "$f" "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $mtasks)
    INSERT INTO s3bridge_tasks (task_type, database_name, lifecycle, percent_complete, task_info, created_at, last_updated,
      started_at, finished_at, task_metadata, bytes_processed, rows_processed)
    SELECT CASE i % 3 WHEN 0 THEN 'UPLOAD_TO_S3' WHEN 1 THEN 'LOAD_FROM_S3' ELSE 'EXPORT_TO_S3' END, 'm$i',
      CASE WHEN i % 50 = 0 THEN 'ERROR' ELSE 'SUCCESS' END, 100, 'bench',
      strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || i || ' minutes') || ' +0000 UTC', strftime('%Y-%m-%d %H:%M:%f', 'now') || ' +0000 UTC',
      strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || i || ' minutes') || ' +0000 UTC',
      strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || i || ' minutes', '+' || (i % 600) || ' seconds') || ' +0000 UTC', '{}', i * 100, i
    FROM g; ANALYZE;"
  dbs+=(--db "sqlite://$f")
done
use_token "$("$bin" token create --db "sqlite://$work/m1.db" --name bench --role viewer)"
serve sqlite "${dbs[@]}"
printf '\ns3bridge serve: /metrics with 10 SQLite instances of %s tasks each, median of %s\n' "$mtasks" "$runs"
report "/metrics, 10 instances" 50 "$url/metrics"
n=$(curl -fsS -H @"$auth" "$url/metrics" | grep -c '^s3bridge_instance_up{.*} 1$' || true)
[ "$n" = 10 ] || { echo "only $n of 10 instances answered the scrape" >&2; exit 1; }
use_token "$TOKEN"

# 1,000 SSE followers on 50 running tasks that move every 0.2 s.
running=$(sql -At -c "SELECT string_agg('$db:' || task_id, ',') FROM (SELECT task_id FROM s3bridge.tasks WHERE lifecycle = 'IN_PROGRESS' ORDER BY task_id LIMIT 50) t")
ids=$(sql -At -c "SELECT string_agg(task_id::text, ',') FROM (SELECT task_id FROM s3bridge.tasks WHERE lifecycle = 'IN_PROGRESS' ORDER BY task_id LIMIT 50) t")
mover() {
  local step=0
  while :; do
    step=$((step + 1))
    sql -c "UPDATE s3bridge.tasks SET percent_complete = $step % 100, last_updated = clock_timestamp() WHERE task_id IN ($ids);
      INSERT INTO s3bridge.task_log (task_id, level, message) SELECT id, 'INFO', 'step $step' FROM unnest(ARRAY[$ids]) AS id" >/dev/null 2>&1 || return 0
    sleep 0.2
  done
}
mover &
pids+=("$!")
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$pg_pid/status")
(
  while kill -0 "$pg_pid" 2>/dev/null; do
    awk '/VmRSS/ {print $2}' "/proc/$pg_pid/status"
    sleep 0.2
  done
) >"$work/rss" &
pids+=("$!")
printf '\ns3bridge serve: %s Server-Sent Events followers on 50 running tasks, held %ss\n' "$followers" "$hold"
"$work/ssefollow" -url "$pg_url" -tasks "$running" -n "$followers" -hold "${hold}s"
peak=$(sort -n "$work/rss" | tail -1)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pg_pid/status")
printf '%-58s %9.1f MB\n' "server RSS before the followers" "$(echo "$rss_before / 1024" | bc -l)"
if (( $(echo "$peak / 1024 < 200" | bc) )); then verdict="< 200 MB: ok"; else verdict="target < 200 MB: MISSED"; missed=1; fi
printf '%-58s %9.1f MB  %s\n' "server RSS with $followers followers (peak sampled)" "$(echo "$peak / 1024" | bc -l)" "$verdict"
printf '%-58s %9.1f MB\n' "server VmHWM (the whole run: the task lists too)" "$(echo "$hwm / 1024" | bc -l)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $missed
