#!/usr/bin/env bash
# bench/proxy.sh: mariadb-slap's point-select workload through s3bridge
# proxy vs directly against the same MariaDB, in the same run; prints
# queries/s of each (median and best of the runs) and the ratio (target
# >= 0.9).
#
# Two reference relays run in the same loop, so the proxy can be judged
# against the best any user-space relay does on this machine: tcprelay
# (bench/internal/tcprelay: io.Copy both ways, parsing nothing) and socat
# when installed. Each hop through a relay costs the machine two more
# loopback TCP sends and two more wake-ups per query; on a small machine
# where mariadb-slap, the server and the relay share the cores, that, not
# the relay's own code, sets the ceiling. The CPU each relay process used
# per query (from /proc/PID/stat) is printed too: it is steadier than
# queries/s when other work shares the machine.
#
#   BENCH_QUERIES=N   queries per client per run (default 10000)
#   BENCH_CLIENTS=N   concurrent clients (default 4)
#   BENCH_RUNS=N      runs of each, interleaved (default 5)
#   S3BRIDGE_BIN=PATH a prebuilt binary
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services >/dev/null 2>&1 || true

host=127.0.0.1 port=${S3BRIDGE_BENCH_MARIADB_PORT:-3306} user=${S3BRIDGE_BENCH_MARIADB_USER:-root}
queries=${BENCH_QUERIES:-10000} clients=${BENCH_CLIENTS:-4} runs=${BENCH_RUNS:-5}
bin=${S3BRIDGE_BIN:-}
work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	mariadb -h "$host" -P "$port" -u "$user" -e "DROP DATABASE IF EXISTS s3bridge_bench_proxy" || true
	rm -rf "$work"
}
trap cleanup EXIT
if [[ -z $bin ]]; then
	bin=$work/s3bridge
	go build -o "$bin" ./cmd/s3bridge
fi
go build -o "$work/tcprelay" ./bench/internal/tcprelay

mariadb -h "$host" -P "$port" -u "$user" -e "CREATE DATABASE IF NOT EXISTS s3bridge_bench_proxy;
	CREATE TABLE IF NOT EXISTS s3bridge_bench_proxy.t (id INT PRIMARY KEY, v VARCHAR(40));
	INSERT IGNORE INTO s3bridge_bench_proxy.t SELECT seq, CONCAT('value ', seq) FROM s3bridge_bench_proxy.seq_1_to_10000;"

# start NAME COMMAND…: runs a relay listening on a port of its own; sets
# port_NAME and pid_NAME.
free_port=$((20000 + RANDOM % 20000))
start() {
	local name=$1
	shift
	free_port=$((free_port + 1))
	"${@//PORT/$free_port}" 2>"$work/$name.log" &
	pids+=($!)
	printf -v "pid_$name" %s $!
	printf -v "port_$name" %s $free_port
	for _ in $(seq 100); do
		mariadb -h "$host" -P "$free_port" -u "$user" -e "SELECT 1" >/dev/null 2>&1 && return
		sleep 0.1
	done
	echo "$name did not start:" >&2
	cat "$work/$name.log" >&2
	exit 1
}
targets=(direct proxy tcprelay)
port_direct=$port
start proxy "$bin" proxy --listen "$host:PORT" --upstream "mysql://$host:$port" --log-level warn
start tcprelay "$work/tcprelay" -listen "$host:PORT" -upstream "$host:$port"
if command -v socat >/dev/null; then
	targets+=(socat)
	start socat socat "TCP-LISTEN:PORT,bind=$host,fork,reuseaddr,nodelay" "TCP:$host:$port,nodelay"
fi

# qps PORT: queries/s of one mariadb-slap run of point selects.
qps() {
	local out secs
	out=$(mariadb-slap -h "$host" -P "$1" -u "$user" --create-schema=s3bridge_bench_proxy \
		--query="SELECT v FROM t WHERE id = 4242" --concurrency="$clients" --number-of-queries=$((queries * clients)) --iterations=1 2>&1)
	secs=$(awk '/Average number of seconds to run all queries/ {print $(NF-1)}' <<<"$out")
	awk -v n=$((queries * clients)) -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'
}

# cpu PID: the process's CPU time so far (its reaped children's included:
# socat forks one per connection), in clock ticks.
cpu() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }

declare -A all cpu0
for t in "${targets[@]}"; do
	all[$t]=""
	[[ $t == direct ]] || cpu0[$t]=$(cpu "$(eval echo "\$pid_$t")")
done
for run in $(seq "$runs"); do
	line="run $run:"
	for t in "${targets[@]}"; do
		q=$(qps "$(eval echo "\$port_$t")")
		all[$t]+="$q "
		line+=" $t $q q/s,"
	done
	echo "${line%,}"
done

# median and best of a list of numbers.
stats() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { printf "%d %d", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[NR] }'; }
read -r med_direct best_direct <<<"$(stats "${all[direct]}")"
tck=$(getconf CLK_TCK)
for t in "${targets[@]}"; do
	read -r med best <<<"$(stats "${all[$t]}")"
	extra=""
	if [[ $t != direct ]]; then
		used=$(($(cpu "$(eval echo "\$pid_$t")") - cpu0[$t]))
		extra=$(awk -v m="$med" -v b="$best" -v md="$med_direct" -v bd="$best_direct" -v u="$used" -v tck="$tck" -v q=$((queries * clients * runs)) \
			'BEGIN { printf ", ratio to direct %.2f median, %.2f best; %.1f µs CPU per query in the relay", m / md, b / bd, u / tck / q * 1e6 }')
	fi
	printf "%-9s median %6d q/s, best %6d q/s%s\n" "$t" "$med" "$best" "$extra"
done
read -r med_proxy best_proxy <<<"$(stats "${all[proxy]}")"
read -r med_relay best_relay <<<"$(stats "${all[tcprelay]}")"
awk -v d="$best_direct" -v p="$best_proxy" -v md="$med_direct" -v mp="$med_proxy" -v r="$best_relay" -v mr="$med_relay" -v c="$clients" 'BEGIN {
	printf "point select, %d clients: direct %d q/s, proxy %d q/s (best), ratio %.2f best, %.2f median (target >= 0.9); proxy vs the minimal relay %.2f best, %.2f median\n",
		c, d, p, p / d, mp / md, p / r, mp / mr }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
