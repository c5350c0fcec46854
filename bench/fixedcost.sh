#!/usr/bin/env bash
# Fixed cost per task: a 1-row load and a 1-row export end to end from the
# CLI on PostgreSQL (process start, instance, S3 client, task row, the
# work, the outcome), against psql -c 'select 1' on the same database in
# the same loop, which is what any one-shot client pays to start and
# connect. Each case runs without an agent (the CLI runs its task itself)
# and with an agent serving the instance (the CLI still runs its own
# task: it claims it in the transaction that enqueues it).
# Target: every s3bridge median < 50 ms.
#
#   bench/fixedcost.sh
#   BENCH_RUNS=50 bench/fixedcost.sh            # runs per case (default 20), interleaved
#   S3BRIDGE_BIN=/path/to/s3bridge bench/fixedcost.sh
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
runs=${BENCH_RUNS:-20}
bench_setup fixedcost
bin=${S3BRIDGE_BIN:-$work/s3bridge}
[ -n "${S3BRIDGE_BIN:-}" ] || go build -o "$bin" ./cmd/s3bridge
agent_pid=
stop_agent() {
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; agent_pid=; fi
}
trap 'stop_agent; bench_cleanup' EXIT

psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db"
psql -q -h 127.0.0.1 -U postgres -d "$db" -c "CREATE TABLE t (id int, name text)"
"$bin" attach --db "$pg" --endpoint "$S3BRIDGE_TEST_S3_ENDPOINT" >/dev/null
aws_s3 mb "s3://$bucket"
printf '1,ada\n' >"$work/one.csv"
aws_s3 cp "$work/one.csv" "s3://$bucket/one.csv"

# us CMD...: runs CMD, fails the benchmark if it fails, prints its wall
# time in microseconds ($EPOCHREALTIME: no fork of date in the timing).
us() {
  local s e
  s=$EPOCHREALTIME
  "$@" >/dev/null 2>"$work/err" || { echo "failed: $*" >&2; cat "$work/err" >&2; exit 1; }
  e=$EPOCHREALTIME
  echo $(( (${e/./} - ${s/./}) ))
}
declare -A times
run_case() { # run_case NAME CMD...
  local name=$1; shift
  times[$name]+="$(us "$@") "
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
best() { tr ' ' '\n' <<<"$1" | grep . | sort -n | head -1; }

round() { # round MODE: one run of every case, interleaved
  local mode=$1 i=$2
  run_case "psql -c 'select 1'" psql -h 127.0.0.1 -U postgres -d "$db" -c 'select 1'
  run_case "load ($mode)" "$bin" load --db "$pg" --table t --format csv "s3://$bucket/one.csv"
  run_case "sql LOAD DATA FROM S3 ($mode)" "$bin" sql --db "$pg" "LOAD DATA FROM S3 's3://$bucket/one.csv' INTO TABLE t FIELDS TERMINATED BY ','"
  run_case "export --query 'select 1' ($mode)" "$bin" export --db "$pg" --query 'select 1' "s3://$bucket/out/$mode-$i"
}

echo "warming up, then $runs runs of each case without an agent and $runs with one" >&2
round warmup 0 && unset 'times'; declare -A times
for i in $(seq "$runs"); do round "no agent" "$i"; done
"$bin" agent --db "$pg" >"$work/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 50); do grep -q serving "$work/agent.log" && break; sleep 0.1; done
for i in $(seq "$runs"); do round "agent running" "$i"; done
stop_agent

n=$(psql -h 127.0.0.1 -U postgres -d "$db" -At -c "SELECT count(*) FROM t")
want=$(( 2 * (2 * runs + 1) ))
[ "$n" = "$want" ] || { echo "table t has $n rows after the loads, want $want" >&2; exit 1; }
by_agent=$(grep -c "task finished" "$work/agent.log" || true)
ref=$(median "${times["psql -c 'select 1'"]}")
printf '\ns3bridge fixed cost per task: 1-row load and export, PostgreSQL and local MinIO, %s runs per case (interleaved), ms\n' "$runs"
printf '%-42s %8s %8s %16s\n' case median best "median / psql"
missed=0
for name in "psql -c 'select 1'" "load (no agent)" "sql LOAD DATA FROM S3 (no agent)" "export --query 'select 1' (no agent)" \
  "load (agent running)" "sql LOAD DATA FROM S3 (agent running)" "export --query 'select 1' (agent running)"; do
  m=$(median "${times[$name]}"); b=$(best "${times[$name]}")
  printf '%-42s %8.1f %8.1f %16s\n' "$name" "$(echo "$m / 1000" | bc -l)" "$(echo "$b / 1000" | bc -l)" "$(echo "scale=2; $m / $ref" | bc)x"
  [ "$name" = "psql -c 'select 1'" ] || (( $(echo "$m < 50000" | bc) )) || missed=1
done
printf 'tasks the agent ran instead of the CLI: %s of %s\n' "$by_agent" "$(( 3 * runs ))"
printf 'target: every s3bridge median < 50 ms: %s\n' "$([ $missed = 0 ] && echo met || echo MISSED)"
printf 'load average (1, 5, 15 min): %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
