#!/usr/bin/env bash
# Export benchmark: s3bridge exporting a query to MinIO against each
# database's own ways of getting the same rows into a file, in the same run:
#   PostgreSQL CSV: s3bridge export of SELECT * FROM t with the default --parallel
#                   (half the cores: one COPY TO STDOUT on 2 cores) and with
#                   --parallel 2 (a whole table's page ranges read by two sessions
#                   under one snapshot)
#                   vs psql COPY (query) TO STDOUT > /dev/null: the wire protocol's
#                   own cost for one session, the floor of any one-session client
#                   (target: ratio <= 1.0)
#                   vs server-side COPY (query) TO '/local/file.csv'        (target: ratio <= 1.2)
#                   vs psql \copy (query) TO file, then aws s3 cp          (target: s3bridge faster)
#   PostgreSQL Parquet (target >= 1,000,000 rows/s) and gzip CSV: MB/s and rows/s
#   MariaDB CSV:    s3bridge export vs mariadb -e "SELECT …" > file, then aws s3 cp
# plus s3bridge's peak RSS in every case (target < 200 MB). Every case runs
# BENCH_RUNS times, interleaved so that load from elsewhere on the machine
# hits all alike; the table shows the best and the median run of each.
#
#   bench/export.sh                  # 2 million rows, 8 mixed-type columns
#   BENCH_ROWS=500000 bench/export.sh
#   BENCH_RUNS=5 bench/export.sh     # runs per case (default 3)
#   S3BRIDGE_BIN=/path/to/s3bridge bench/export.sh   # a prebuilt binary
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
rows=${BENCH_ROWS:-2000000}
runs=${BENCH_RUNS:-3}
bench_setup exportbench
bin=${S3BRIDGE_BIN:-$work/s3bridge}
[ -n "${S3BRIDGE_BIN:-}" ] || go build -o "$bin" ./cmd/s3bridge

echo "generating $rows rows in PostgreSQL and MariaDB" >&2
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db"
psql -q -h 127.0.0.1 -U postgres -d "$db" <<SQL
CREATE TABLE t (id bigint, name text, amount numeric(12,2), qty int, ts timestamp, flag boolean, score float8, note text);
INSERT INTO t SELECT i, 'name ' || i || CASE WHEN i % 10 = 0 THEN ', with "quotes"' ELSE '' END, (i % 100000) / 100.0, i % 1000,
  timestamp '2026-01-01' + i * interval '1 second', i % 2 = 0, i * 0.5, md5(i::text) FROM generate_series(1, $rows) i;
VACUUM ANALYZE t;
SQL
mariadb -uroot -e "CREATE DATABASE $db"
mariadb -uroot "$db" <<SQL
CREATE TABLE t (id BIGINT, name TEXT, amount DECIMAL(12,2), qty INT, ts DATETIME, flag BOOLEAN, score DOUBLE, note TEXT);
INSERT INTO t SELECT seq, CONCAT('name ', seq, IF(seq % 10 = 0, ', with "quotes"', '')), (seq % 100000) / 100, seq % 1000,
  TIMESTAMP '2026-01-01 00:00:00' + INTERVAL seq SECOND, seq % 2 = 0, seq * 0.5, MD5(seq) FROM seq_1_to_$rows;
SQL
"$bin" attach --db "$pg" --endpoint "$S3BRIDGE_TEST_S3_ENDPOINT" >/dev/null
"$bin" attach --db "$my" --endpoint "$S3BRIDGE_TEST_S3_ENDPOINT" >/dev/null
aws_s3 mb "s3://$bucket"
query="SELECT * FROM t"

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }
# timed runs s3bridge under /usr/bin/time -v: prints seconds, keeps peak RSS in $work/rss.
timed() {
  local s e
  s=$(date +%s.%N)
  /usr/bin/time -v "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  e=$(date +%s.%N)
  awk -F': ' '/Maximum resident set size/ {print $2}' "$work/err" >>"$work/rss"
  echo "$e - $s" | bc
}
size_of() { aws s3api --endpoint-url "$S3BRIDGE_TEST_S3_ENDPOINT" list-objects-v2 --bucket "$bucket" --prefix "$1" --query 'sum(Contents[].Size)' --output text; }
export_to() { timed "$bin" export --db "$1" --query "$query" --overwrite "${@:3}" "s3://$bucket/$2"; }

# rec CASE SECONDS keeps one run's time of a case; s3b CASE SECONDS also
# the peak RSS of the s3bridge run that just ended.
rec() { echo "$2" >>"$work/t.$1"; }
s3b() { rec "$@"; tail -1 "$work/rss" >>"$work/rss.$1"; }
best() { sort -n "$work/t.$1" | head -1; }
median() { sort -n "$work/t.$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for _ in $(seq "$runs"); do
  rec wire "$(secs sh -c "psql -q -h 127.0.0.1 -U postgres -d '$db' -c 'COPY ($query) TO STDOUT (FORMAT csv)' >/dev/null")"
  rec pg_ref "$(secs psql -q -h 127.0.0.1 -U postgres -d "$db" -c "COPY ($query) TO '$work/ref.csv' (FORMAT csv)")"
  csv_size=$(stat -c %s "$work/ref.csv")
  rm -f "$work/ref.csv"
  s3b pg "$(export_to "$pg" pg/csv --format csv)"
  s3b pg_two "$(export_to "$pg" pg/csv2 --format csv --parallel 2)"
  t=$(secs psql -q -h 127.0.0.1 -U postgres -d "$db" -c "\\copy ($query) TO '$work/psql.csv' (FORMAT csv)")
  rec psql_cp "$(echo "$t + $(secs aws s3 cp --endpoint-url "$S3BRIDGE_TEST_S3_ENDPOINT" "$work/psql.csv" "s3://$bucket/ref/psql.csv")" | bc)"
  rm -f "$work/psql.csv"
  s3b pg_pq "$(export_to "$pg" pg/parquet --format parquet)"
  s3b pg_gz "$(export_to "$pg" pg/gz --format csv --compress gzip)"
  # MariaDB, CSV: s3bridge, then the client's tab-separated output + aws.
  s3b my "$(export_to "$my" my/csv --format csv)"
  t=$(secs sh -c "mariadb -uroot --quick --batch -N '$db' -e '$query' >'$work/my.tsv'")
  rec my_cli "$(echo "$t + $(secs aws s3 cp --endpoint-url "$S3BRIDGE_TEST_S3_ENDPOINT" "$work/my.tsv" "s3://$bucket/ref/my.tsv")" | bc)"
  rm -f "$work/my.tsv"
done
pq_size=$(size_of pg/parquet)
gz_size=$(size_of pg/gz)
my_size=$(size_of my/csv)
n=$("$bin" status --db "$pg" | grep -c "EXPORT_TO_S3 .*SUCCESS" || true)
[ "$n" = $((4 * runs)) ] || { echo "PostgreSQL lists $n successful exports, want $((4 * runs))" >&2; exit 1; }

mb() { echo "scale=1; $1 / 1048576" | bc; }
printf '\ns3bridge export benchmark: %s rows, 8 columns, %s MB as CSV, to local MinIO (%s runs of each case)\n' "$rows" "$(mb "$csv_size")" "$runs"
printf '%-58s %8s %8s %9s %12s %9s\n' case best median "MB/s" "rows/s" "RSS MB"
# row LABEL CASE BYTES: best and median seconds; MB/s and rows/s of the
# best; s3bridge's peak RSS over the case's runs.
row() {
  local b m rss=""
  b=$(best "$2") m=$(median "$2")
  [ -f "$work/rss.$2" ] && rss=$(($(sort -n "$work/rss.$2" | tail -1) / 1024))
  printf '%-58s %8.2f %8.2f %9.1f %12.0f %9s\n' "$1" "$b" "$m" "$(echo "scale=1; $3 / 1048576 / $b" | bc)" "$(echo "$rows / $b" | bc)" "$rss"
}
row "PostgreSQL server-side COPY (query) TO local file" pg_ref "$csv_size"
row "PostgreSQL psql COPY (query) TO STDOUT > /dev/null" wire "$csv_size"
row "PostgreSQL s3bridge export CSV to S3 (default --parallel)" pg "$csv_size"
row "PostgreSQL s3bridge export CSV to S3 (--parallel 2)" pg_two "$csv_size"
row "PostgreSQL psql \\copy to file + aws s3 cp" psql_cp "$csv_size"
row "PostgreSQL s3bridge export Parquet (snappy) to S3" pg_pq "$pq_size"
row "PostgreSQL s3bridge export gzip CSV to S3" pg_gz "$gz_size"
row "MariaDB s3bridge export CSV to S3" my "$my_size"
row "MariaDB mariadb -e 'SELECT …' > file + aws s3 cp" my_cli "$my_size"
ok() { (( $(echo "$1 $2 $3" | bc) )) && echo met || echo MISSED; }
# both A B OP LIMIT: the verdict on the best runs' ratio A and on the medians' B.
both() { echo "best $(ok "$1" "$3" "$4"), median $(ok "$2" "$3" "$4")"; }
# ratio A B: A's time over B's, of the best runs and of the medians.
ratio() { echo "$(echo "scale=2; $(best "$1") / $(best "$2")" | bc) $(echo "scale=2; $(median "$1") / $(median "$2")" | bc)"; }
read -r r4 r4m < <(ratio pg wire)
read -r r5 r5m < <(ratio pg_two wire)
read -r r1 r1m < <(ratio pg pg_ref)
read -r r2 r2m < <(ratio pg psql_cp)
read -r r3 r3m < <(ratio my my_cli)
pq_rate=$(echo "$rows / $(best pg_pq)" | bc)
pq_rate_m=$(echo "$rows / $(median pg_pq)" | bc)
printf 'ratio PostgreSQL s3bridge / psql COPY TO STDOUT > /dev/null: %sx best, %sx median (target <= 1.0: %s)\n' "$r4" "$r4m" "$(both "$r4" "$r4m" "<=" 1.0)"
printf 'ratio PostgreSQL s3bridge --parallel 2 / psql COPY TO STDOUT > /dev/null: %sx best, %sx median\n' "$r5" "$r5m"
printf 'ratio PostgreSQL s3bridge / server-side COPY TO file: %sx best, %sx median (target <= 1.2: %s)\n' "$r1" "$r1m" "$(both "$r1" "$r1m" "<=" 1.2)"
printf 'ratio PostgreSQL s3bridge / (psql \\copy + aws s3 cp): %sx best, %sx median (target < 1: %s)\n' "$r2" "$r2m" "$(both "$r2" "$r2m" "<" 1)"
printf 'ratio MariaDB s3bridge / (mariadb -e + aws s3 cp): %sx best, %sx median\n' "$r3" "$r3m"
printf 'PostgreSQL Parquet: %s rows/s best, %s median (target >= 1000000: %s)\n' "$pq_rate" "$pq_rate_m" "$(both "$pq_rate" "$pq_rate_m" ">=" 1000000)"
printf 'load average (1, 5, 15 min) at the end: %s, on %s cores\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
peak=$(sort -n "$work/rss" | tail -1)
printf 'peak RSS of s3bridge: %s MB CSV from PostgreSQL (default), %s MB across all runs (target < 200 MB: %s)\n' \
  "$(($(sort -n "$work/rss.pg" | tail -1) / 1024))" "$((peak / 1024))" "$(ok "$peak" "<" 204800)"
