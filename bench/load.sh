#!/usr/bin/env bash
# Bulk-load benchmark: s3bridge loading from MinIO against each database's
# own bulk load of the same file from local disk, in the same run:
#   PostgreSQL: s3bridge load (COPY FROM STDIN fed from S3) vs server-side COPY t FROM '/local/file.csv'
#   MariaDB:    s3bridge load (LOAD DATA LOCAL INFILE via a reader handler) vs the mariadb client's LOAD DATA LOCAL INFILE
# plus gzip and JSON Lines variants into PostgreSQL, and s3bridge's peak RSS.
# Each case runs BENCH_RUNS times, interleaved; the median and the best are
# printed. Targets (issue 14): both ratios of medians ≤ 1.05; peak RSS < 150 MB.
#
#   bench/load.sh                 # 2 million rows (~210 MB CSV), 3 runs
#   BENCH_ROWS=5000000 BENCH_RUNS=5 bench/load.sh
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
rows=${BENCH_ROWS:-2000000}
runs=${BENCH_RUNS:-3}
bench_setup loadbench
go build -o "$work/s3bridge" ./cmd/s3bridge

ddl_pg="CREATE TABLE t (id bigint, name text, amount numeric(12,2), qty int, ts timestamp, flag smallint, score float8, note text)"
ddl_my="CREATE TABLE t (id BIGINT, name TEXT, amount DECIMAL(12,2), qty INT, ts DATETIME, flag SMALLINT, score DOUBLE, note TEXT)"
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" && psql -q -h 127.0.0.1 -U postgres -d "$db" -c "$ddl_pg"
mariadb -uroot -e "CREATE DATABASE $db" && mariadb -uroot "$db" -e "$ddl_my"
"$work/s3bridge" attach --db "$pg" >/dev/null
"$work/s3bridge" attach --db "$my" >/dev/null

echo "generating $rows rows in $work" >&2
gen="SELECT i, 'name ' || i || CASE WHEN i % 10 = 0 THEN ', with \"quotes\"' ELSE '' END, (i % 100000) / 100.0, i % 1000,
  timestamp '2026-01-01' + i * interval '1 second', (i % 2)::smallint, i * 0.5, md5(i::text) FROM generate_series(1, $rows) i"
psql -q -h 127.0.0.1 -U postgres -d "$db" -c "COPY ($gen) TO '$work/data.csv' (FORMAT csv)"
psql -q -h 127.0.0.1 -U postgres -d "$db" -At -c "SELECT row_to_json(r) FROM (SELECT i AS id, 'name ' || i AS name, (i % 100000) / 100.0 AS amount, i % 1000 AS qty, timestamp '2026-01-01' + i * interval '1 second' AS ts, (i % 2) AS flag, i * 0.5 AS score, md5(i::text) AS note FROM generate_series(1, $rows) i) r" >"$work/data.jsonl"
gzip -1 -c "$work/data.csv" >"$work/data.csv.gz"
size=$(stat -c %s "$work/data.csv")
aws_s3 mb "s3://$bucket"
for f in data.csv data.csv.gz data.jsonl; do aws_s3 cp "$work/$f" "s3://$bucket/$f"; done

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
pg_empty() { psql -q -h 127.0.0.1 -U postgres -d "$db" -c "TRUNCATE t"; }
my_empty() { mariadb -uroot "$db" -e "TRUNCATE t"; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
best() { tr ' ' '\n' <<<"$1" | grep . | sort -n | head -1; }

load_local="LOAD DATA LOCAL INFILE '$work/data.csv' INTO TABLE t FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY ''"
declare -A T
# The cases run interleaved, run after run, so that a busy moment of the
# machine falls on the reference and on s3bridge alike.
for run in $(seq "$runs"); do
  echo "run $run of $runs" >&2
  pg_empty; T[pg_ref]+=" $(secs psql -q -h 127.0.0.1 -U postgres -d "$db" -c "COPY t FROM '$work/data.csv' (FORMAT csv)")"
  pg_empty; T[pg]+=" $(secs "$work/s3bridge" load --db "$pg" --table t --format csv "s3://$bucket/data.csv")"
  pg_empty; T[pg_gz]+=" $(secs "$work/s3bridge" load --db "$pg" --table t --format csv "s3://$bucket/data.csv.gz")"
  pg_empty; T[pg_json]+=" $(secs "$work/s3bridge" load --db "$pg" --table t --format jsonl "s3://$bucket/data.jsonl")"
  my_empty; T[my_ref]+=" $(secs mariadb --local-infile=1 -uroot "$db" -e "$load_local")"
  my_empty; T[my]+=" $(secs "$work/s3bridge" load --db "$my" --table t --format csv "s3://$bucket/data.csv")"
done
pg_empty; rss_pg=$(rss "$work/s3bridge" load --db "$pg" --table t --format csv "s3://$bucket/data.csv.gz")
pg_empty; rss_json=$(rss "$work/s3bridge" load --db "$pg" --table t --format jsonl "s3://$bucket/data.jsonl")
my_empty; rss_my=$(rss "$work/s3bridge" load --db "$my" --table t --format csv "s3://$bucket/data.csv")
n=$(psql -h 127.0.0.1 -U postgres -d "$db" -At -c "SELECT count(*) FROM t")
[ "$n" = "$rows" ] || { echo "PostgreSQL has $n rows after the last load, want $rows" >&2; exit 1; }
n=$(mariadb -uroot "$db" -N -e "SELECT count(*) FROM t")
[ "$n" = "$rows" ] || { echo "MariaDB has $n rows after the last load, want $rows" >&2; exit 1; }

mb=$(echo "scale=1; $size / 1048576" | bc)
printf '\ns3bridge load benchmark: %s rows, %s MB CSV, local MinIO, %s runs, seconds\n' "$rows" "$mb" "$runs"
printf '%-52s %8s %8s %10s\n' case median best "MB/s med"
row() { local m; m=$(median "${T[$2]}"); printf '%-52s %8.2f %8.2f %10.1f\n' "$1" "$m" "$(best "${T[$2]}")" "$(echo "scale=1; $size / 1048576 / $m" | bc)"; }
row "PostgreSQL server-side COPY t FROM local file" pg_ref
row "PostgreSQL s3bridge load (CSV from S3)" pg
row "PostgreSQL s3bridge load (gzip CSV from S3)" pg_gz
row "PostgreSQL s3bridge load (JSON Lines from S3)" pg_json
row "MariaDB client LOAD DATA LOCAL INFILE local file" my_ref
row "MariaDB s3bridge load (CSV from S3)" my
ratio() { echo "scale=2; $1 / $2" | bc; }
ok() { (( $(echo "$1 <= $2" | bc) )) && echo met || echo MISSED; }
for c in "PostgreSQL pg pg_ref server COPY" "MariaDB my my_ref client LOAD DATA LOCAL"; do
  read -r name ours ref what <<<"$c"
  rm=$(ratio "$(median "${T[$ours]}")" "$(median "${T[$ref]}")"); rb=$(ratio "$(best "${T[$ours]}")" "$(best "${T[$ref]}")")
  printf 'ratio %s s3bridge / %s: median %sx, best %sx (target <= 1.05: %s)\n' "$name" "$what" "$rm" "$rb" "$(ok "$rm" 1.05)"
done
printf 'peak RSS of s3bridge: %s MB gzip CSV to PostgreSQL, %s MB JSON Lines to PostgreSQL, %s MB CSV to MariaDB (target < 150 MB)\n' \
  "$((rss_pg / 1024))" "$((rss_json / 1024))" "$((rss_my / 1024))"
