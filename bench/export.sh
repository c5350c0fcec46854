#!/usr/bin/env bash
# Export benchmark: s3bridge exporting a query to MinIO against each
# database's own ways of getting the same rows into a file, in the same run:
#   PostgreSQL CSV: s3bridge export (COPY TO STDOUT streamed into multipart uploads)
#                   vs server-side COPY (query) TO '/local/file.csv'        (target: ratio <= 1.2)
#                   vs psql \copy (query) TO file, then aws s3 cp          (target: s3bridge faster)
#                   and, for reference, psql COPY (query) TO STDOUT > /dev/null: the wire
#                   protocol's own cost, which no client of a remote server can go below
#   PostgreSQL Parquet and gzip CSV: MB/s and rows/s
#   MariaDB CSV:    s3bridge export vs mariadb -e "SELECT …" > file, then aws s3 cp
# plus s3bridge's peak RSS in every case (target < 200 MB).
#
#   bench/export.sh                  # 5 million rows, 8 mixed-type columns
#   BENCH_ROWS=500000 bench/export.sh
#   BENCH_RUNS=5 bench/export.sh     # runs per PostgreSQL CSV case, best kept (default 3)
#   S3BRIDGE_BIN=/path/to/s3bridge bench/export.sh   # a prebuilt binary
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
rows=${BENCH_ROWS:-5000000}
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

min() { echo "if ($1 < $2) $1 else $2" | bc; }
# PostgreSQL, CSV, interleaved so that load from elsewhere on the machine
# hits all three alike; the best of $runs runs of each is kept.
t_pg_ref=999999 t_pg=999999 t_psql_cp=999999 t_wire=999999
for _ in $(seq "$runs"); do
  t=$(secs sh -c "psql -q -h 127.0.0.1 -U postgres -d '$db' -c 'COPY ($query) TO STDOUT (FORMAT csv)' >/dev/null")
  t_wire=$(min "$t" "$t_wire")
  t=$(secs psql -q -h 127.0.0.1 -U postgres -d "$db" -c "COPY ($query) TO '$work/ref.csv' (FORMAT csv)")
  t_pg_ref=$(min "$t" "$t_pg_ref")
  csv_size=$(stat -c %s "$work/ref.csv")
  rm -f "$work/ref.csv"
  t=$(export_to "$pg" pg/csv --format csv)
  t_pg=$(min "$t" "$t_pg")
  t=$(secs psql -q -h 127.0.0.1 -U postgres -d "$db" -c "\\copy ($query) TO '$work/psql.csv' (FORMAT csv)")
  t=$(echo "$t + $(secs aws s3 cp --endpoint-url "$S3BRIDGE_TEST_S3_ENDPOINT" "$work/psql.csv" "s3://$bucket/ref/psql.csv")" | bc)
  t_psql_cp=$(min "$t" "$t_psql_cp")
  rm -f "$work/psql.csv"
done
tail -1 "$work/rss" >"$work/rss.pg_csv"
t_pg_pq=$(export_to "$pg" pg/parquet --format parquet)
pq_size=$(size_of pg/parquet)
t_pg_gz=$(export_to "$pg" pg/gz --format csv --compress gzip)
gz_size=$(size_of pg/gz)
# MariaDB, CSV: s3bridge, then the client's tab-separated output + aws.
t_my=$(export_to "$my" my/csv --format csv)
my_size=$(size_of my/csv)
t_my_cli=$(secs sh -c "mariadb -uroot --quick --batch -N '$db' -e '$query' >'$work/my.tsv'")
t_my_cp=$(secs aws s3 cp --endpoint-url "$S3BRIDGE_TEST_S3_ENDPOINT" "$work/my.tsv" "s3://$bucket/ref/my.tsv")
rm -f "$work/my.tsv"
n=$("$bin" status --db "$pg" | grep -c "EXPORT_TO_S3 .*SUCCESS" || true)
[ "$n" = $((runs + 2)) ] || { echo "PostgreSQL lists $n successful exports, want $((runs + 2))" >&2; exit 1; }

mb() { echo "scale=1; $1 / 1048576" | bc; }
printf '\ns3bridge export benchmark: %s rows, 8 columns, %s MB as CSV, to local MinIO (PostgreSQL CSV: best of %s)\n' "$rows" "$(mb "$csv_size")" "$runs"
printf '%-58s %8s %9s %12s\n' case seconds "MB/s" "rows/s"
row() { printf '%-58s %8.2f %9.1f %12.0f\n' "$1" "$2" "$(echo "scale=1; $3 / 1048576 / $2" | bc)" "$(echo "$rows / $2" | bc)"; }
row "PostgreSQL server-side COPY (query) TO local file" "$t_pg_ref" "$csv_size"
row "PostgreSQL psql COPY (query) TO STDOUT > /dev/null" "$t_wire" "$csv_size"
row "PostgreSQL s3bridge export CSV to S3" "$t_pg" "$csv_size"
row "PostgreSQL psql \\copy to file + aws s3 cp" "$t_psql_cp" "$csv_size"
row "PostgreSQL s3bridge export Parquet (snappy) to S3" "$t_pg_pq" "$pq_size"
row "PostgreSQL s3bridge export gzip CSV to S3" "$t_pg_gz" "$gz_size"
row "MariaDB s3bridge export CSV to S3" "$t_my" "$my_size"
row "MariaDB mariadb -e 'SELECT …' > file + aws s3 cp" "$(echo "$t_my_cli + $t_my_cp" | bc)" "$my_size"
r1=$(echo "scale=2; $t_pg / $t_pg_ref" | bc)
r2=$(echo "scale=2; $t_pg / $t_psql_cp" | bc)
r3=$(echo "scale=2; $t_my / ($t_my_cli + $t_my_cp)" | bc)
r4=$(echo "scale=2; $t_pg / $t_wire" | bc)
ok() { (( $(echo "$1 $2 $3" | bc) )) && echo met || echo MISSED; }
printf 'ratio PostgreSQL s3bridge / server-side COPY TO file: %sx (target <= 1.2: %s)\n' "$r1" "$(ok "$r1" "<=" 1.2)"
printf 'ratio PostgreSQL s3bridge / (psql \\copy + aws s3 cp): %sx (target < 1: %s)\n' "$r2" "$(ok "$r2" "<" 1)"
printf 'ratio PostgreSQL s3bridge / psql COPY TO STDOUT > /dev/null: %sx (the protocol floor)\n' "$r4"
printf 'ratio MariaDB s3bridge / (mariadb -e + aws s3 cp): %sx\n' "$r3"
printf 'load average (1, 5, 15 min) at the end: %s, on %s cores\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
peak=$(sort -n "$work/rss" | tail -1)
printf 'peak RSS of s3bridge: %s MB CSV from PostgreSQL, %s MB across all runs (target < 200 MB: %s)\n' \
  "$(($(cat "$work/rss.pg_csv") / 1024))" "$((peak / 1024))" "$(ok "$peak" "<" 204800)"
