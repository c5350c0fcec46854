#!/usr/bin/env bash
# bench/proxy.sh: mariadb-slap's point-select workload through s3bridge
# proxy vs directly against the same MariaDB, in the same run; prints
# queries/s of each and the ratio (target >= 0.9).
#
#   BENCH_QUERIES=N   queries per client per run (default 2000)
#   BENCH_CLIENTS=N   concurrent clients (default 4)
#   BENCH_RUNS=N      runs of each, interleaved; the best counts (default 3)
#   S3BRIDGE_BIN=PATH a prebuilt binary
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_services >/dev/null 2>&1 || true

host=127.0.0.1 port=${S3BRIDGE_BENCH_MARIADB_PORT:-3306} user=${S3BRIDGE_BENCH_MARIADB_USER:-root}
queries=${BENCH_QUERIES:-2000} clients=${BENCH_CLIENTS:-4} runs=${BENCH_RUNS:-3}
bin=${S3BRIDGE_BIN:-}
work=$(mktemp -d)
cleanup() {
	[[ -n ${proxy_pid:-} ]] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
	mariadb -h "$host" -P "$port" -u "$user" -e "DROP DATABASE IF EXISTS s3bridge_bench_proxy" || true
	rm -rf "$work"
}
trap cleanup EXIT
if [[ -z $bin ]]; then
	bin=$work/s3bridge
	go build -o "$bin" ./cmd/s3bridge
fi

mariadb -h "$host" -P "$port" -u "$user" -e "CREATE DATABASE IF NOT EXISTS s3bridge_bench_proxy;
	CREATE TABLE IF NOT EXISTS s3bridge_bench_proxy.t (id INT PRIMARY KEY, v VARCHAR(40));
	INSERT IGNORE INTO s3bridge_bench_proxy.t SELECT seq, CONCAT('value ', seq) FROM s3bridge_bench_proxy.seq_1_to_10000;"

pport=$((20000 + RANDOM % 20000))
"$bin" proxy --listen "$host:$pport" --upstream "mysql://$host:$port" --log-level warn 2>"$work/proxy.log" &
proxy_pid=$!
for _ in $(seq 100); do
	mariadb -h "$host" -P "$pport" -u "$user" -e "SELECT 1" >/dev/null 2>&1 && break
	sleep 0.1
done

# qps PORT: queries/s of one mariadb-slap run of point selects.
qps() {
	local out secs
	out=$(mariadb-slap -h "$host" -P "$1" -u "$user" --create-schema=s3bridge_bench_proxy \
		--query="SELECT v FROM t WHERE id = 4242" --concurrency="$clients" --number-of-queries=$((queries * clients)) --iterations=1 2>&1)
	secs=$(awk '/Average number of seconds to run all queries/ {print $(NF-1)}' <<<"$out")
	awk -v n=$((queries * clients)) -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'
}

best_direct=0 best_proxy=0
for run in $(seq "$runs"); do
	d=$(qps "$port"); p=$(qps "$pport")
	echo "run $run: direct $d q/s, proxy $p q/s"
	((d > best_direct)) && best_direct=$d
	((p > best_proxy)) && best_proxy=$p
done
awk -v d="$best_direct" -v p="$best_proxy" -v c="$clients" 'BEGIN {
	printf "point select, %d clients: direct %d q/s, proxy %d q/s, ratio %.2f (target >= 0.9)\n", c, d, p, (d > 0 ? p / d : 0) }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
