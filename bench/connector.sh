#!/usr/bin/env bash
# S3 import connector benchmark (issue 9, Performance), in one run:
#   1. connector issue (a fresh ledger: every file new) importing the rows of bench/load.sh, gzip CSV split
#      in 20 objects under one prefix, vs s3bridge load --prefix of the same objects into the same table,
#      on PostgreSQL and MariaDB; peak RSS.          Targets: ratio <= 1.15; peak RSS < 150 MB.
#   2. incremental connector issue over a prefix of 100,000 tiny objects of which 100 are new (keys spread
#      between the loaded ones, not after them), vs a bare ListObjectsV2 of the prefix
#      (bench/internal/listonly), on PostgreSQL and MariaDB.
#                                                    Targets: under 10 s; ratio <= 1.2.
#   3. connector guess of a 1 GiB gzip object.       Target: < 1 s.
# Every case is run BENCH_RUNS times, interleaved (the order alternates), and the best kept; row counts are
# checked after every run.
#
#   bench/connector.sh                           # 2 million rows, 100,000 objects, best of 2
#   BENCH_ROWS=200000 BENCH_OBJECTS=5000 BENCH_RUNS=1 bench/connector.sh
#   S3BRIDGE_BIN=/path/to/s3bridge bench/connector.sh   # a prebuilt binary
#
# The objects of case 2 (all but the 100 new ones) are kept between runs in the bucket
# s3bridge-bench-inc-N (N = BENCH_OBJECTS) and reused when it holds the right count; remove it with
# aws s3 rb --force s3://s3bridge-bench-inc-N. The connector's first run over them (the 99,900 it then
# loads, one GET each) is timed and printed but not compared.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
rows=${BENCH_ROWS:-2000000}
objects=${BENCH_OBJECTS:-100000}
runs=${BENCH_RUNS:-2}
parts=20
new=100
gib=1073741824
(( objects > 2 * new )) || { echo "BENCH_OBJECTS must be over $((2 * new))" >&2; exit 2; }
bench_setup connbench
bin=${S3BRIDGE_BIN:-$work/s3bridge}
[ -n "${S3BRIDGE_BIN:-}" ] || go build -o "$bin" ./cmd/s3bridge
go build -o "$work/listonly" ./bench/internal/listonly
go build -o "$work/putmany" ./bench/internal/putmany

ddl_pg="CREATE TABLE t (id bigint, name text, amount numeric(12,2), qty int, ts timestamp, flag smallint, score float8, note text);
  CREATE TABLE s (id bigint, name text)"
ddl_my="CREATE TABLE t (id BIGINT, name TEXT, amount DECIMAL(12,2), qty INT, ts DATETIME, flag SMALLINT, score DOUBLE, note TEXT);
  CREATE TABLE s (id BIGINT, name TEXT)"
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" && psql -q -h 127.0.0.1 -U postgres -d "$db" -c "$ddl_pg"
mariadb -uroot -e "CREATE DATABASE $db" && mariadb -uroot "$db" -e "$ddl_my"
"$bin" attach --db "$pg" >/dev/null
"$bin" attach --db "$my" >/dev/null
aws_s3 mb "s3://$bucket"

# measure CMD…: runs CMD, failing the benchmark with its stderr if it fails; sets m_secs and m_rss (KiB)
# and keeps its stdout in $work/out.
measure() {
  local s e
  s=$(date +%s.%N)
  /usr/bin/time -f %M -o "$work/rss" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  e=$(date +%s.%N)
  m_secs=$(echo "$e - $s" | bc)
  m_rss=$(tail -1 "$work/rss")
}
# keep NAME: the least m_secs so far in NAME, the most m_rss in NAME_rss.
keep() {
  local cur=${!1:-} rss=${1}_rss
  if [ -z "$cur" ] || (( $(echo "$m_secs < $cur" | bc) )); then printf -v "$1" %s "$m_secs"; fi
  if (( m_rss > ${!rss:-0} )); then printf -v "$rss" %s "$m_rss"; fi
}
count_pg() { psql -h 127.0.0.1 -U postgres -d "$db" -At -c "SELECT count(*) FROM $1"; }
count_my() { mariadb -uroot -N "$db" -e "SELECT count(*) FROM $1"; }
# expect WHAT GOT WANT
expect() { [ "$2" = "$3" ] || { echo "FAILED: $1: $2 rows, want $3" >&2; exit 1; }; }
# seed FILE BUCKET PREFIX [IN]: a connector config for the objects of BUCKET under PREFIX, with the keys as
# references to the AWS_* variables and IN's lines added to in:.
seed() {
  cat >"$1" <<EOF
in:
  type: s3
  bucket: $2
  path_prefix: $3
  endpoint: $S3BRIDGE_TEST_S3_ENDPOINT
  region: us-east-1
  auth_method: basic
  access_key_id: \${env:AWS_ACCESS_KEY_ID}
  secret_access_key: \${env:AWS_SECRET_ACCESS_KEY}
${4:-}
out:
  mode: append
EOF
}

# --- 1. data: the generator of bench/load.sh, split in $parts gzip objects under rows/
echo "generating $rows rows in $work" >&2
gen="SELECT i, 'name ' || i || CASE WHEN i % 10 = 0 THEN ', with \"quotes\"' ELSE '' END, (i % 100000) / 100.0, i % 1000,
  timestamp '2026-01-01' + i * interval '1 second', (i % 2)::smallint, i * 0.5, md5(i::text) FROM generate_series(1, $rows) i"
psql -q -h 127.0.0.1 -U postgres -d "$db" -c "COPY ($gen) TO '$work/data.csv' (FORMAT csv)"
csv_size=$(stat -c %s "$work/data.csv")
mkdir "$work/rows"
split -n "l/$parts" -d -a 2 --additional-suffix=.csv "$work/data.csv" "$work/rows/part-"
rm "$work/data.csv"
gzip -1 "$work/rows/"*.csv
gz_size=$(cat "$work/rows/"*.gz | wc -c)
aws_s3 cp --recursive "$work/rows/" "s3://$bucket/rows/"

# The connector's config, as a user makes it: guess, then the column names of
# the table (a headerless CSV guesses c0…c7).
seed "$work/rows-seed.yml" "$bucket" rows/
measure "$bin" connector guess "$work/rows-seed.yml" -o "$work/rows.yml"
t_guess_rows=$m_secs
i=0
for c in id name amount qty ts flag score note; do sed -i "s/^\( *- name:\) c$i\$/\1 $c/" "$work/rows.yml"; i=$((i + 1)); done
[ "$(grep -cE '^ *- name: (id|name|amount|qty|ts|flag|score|note)$' "$work/rows.yml")" = 8 ] ||
  { echo "FAILED: connector guess did not find the 8 columns:" >&2; cat "$work/rows.yml" >&2; exit 1; }

# Each measured run starts from the same state: an empty table and, on PostgreSQL, a checkpoint, so that
# neither side pays for the WAL the run before it left.
load_pg() { psql -q -h 127.0.0.1 -U postgres -d "$db" -c "TRUNCATE t" -c "CHECKPOINT"; measure "$bin" load --db "$pg" --table t --prefix "s3://$bucket/rows/"
  expect "PostgreSQL after load --prefix" "$(count_pg t)" "$rows"; keep t_load_pg; }
conn_pg() { psql -q -h 127.0.0.1 -U postgres -d "$db" -c "TRUNCATE t" -c "CHECKPOINT"; measure "$bin" connector issue "$work/rows.yml" --db "$pg" --table t --name "rows_pg_$1"
  expect "PostgreSQL after connector issue" "$(count_pg t)" "$rows"; keep t_conn_pg; }
load_my() { mariadb -uroot "$db" -e "TRUNCATE t"; measure "$bin" load --db "$my" --table t --prefix "s3://$bucket/rows/"
  expect "MariaDB after load --prefix" "$(count_my t)" "$rows"; keep t_load_my; }
conn_my() { mariadb -uroot "$db" -e "TRUNCATE t"; measure "$bin" connector issue "$work/rows.yml" --db "$my" --table t --name "rows_my_$1"
  expect "MariaDB after connector issue" "$(count_my t)" "$rows"; keep t_conn_my; }
# One database at a time, the order alternating each run, so that neither side always follows the other
# database's load (whose server is still flushing it); a fresh connector name each run: a fresh ledger,
# every object new.
for r in $(seq "$runs"); do
  echo "import run $r of $runs, PostgreSQL" >&2
  if (( r % 2 )); then load_pg; conn_pg "$r"; else conn_pg "$r"; load_pg; fi
done
for r in $(seq "$runs"); do
  echo "import run $r of $runs, MariaDB" >&2
  if (( r % 2 )); then load_my; conn_my "$r"; else conn_my "$r"; load_my; fi
done
psql -q -h 127.0.0.1 -U postgres -d "$db" -c "TRUNCATE t"; mariadb -uroot "$db" -e "TRUNCATE t"

# --- 2. incremental: $objects objects, $new of them new, in a bucket kept between runs
inc_bucket=s3bridge-bench-inc-$objects
base=$((objects - new))
step=$((base / new))
# The new objects of run r are PREFIX/i-lateR.csv for i = 0, step, …: each sorts
# among the loaded ones, as late files do; they are deleted after the run.
late() { "$work/putmany" -bucket "$inc_bucket" -prefix inc/ -n "$new" -step "$step" -suffix "-late$1" "${@:2}"; }
trap 'for r in $(seq "$runs"); do late "$r" -delete 2>/dev/null || true; done; bench_cleanup' EXIT
aws s3api head-bucket --bucket "$inc_bucket" >/dev/null 2>&1 || aws_s3 mb "s3://$inc_bucket"
have=$("$work/listonly" -bucket "$inc_bucket" -prefix inc/)
if [ "$have" != "$base" ]; then
  echo "writing $base objects to s3://$inc_bucket/inc/ (kept for the next runs; had $have)" >&2
  [ "$have" = 0 ] || aws_s3 rm --recursive "s3://$inc_bucket/inc/"
  measure "$work/putmany" -bucket "$inc_bucket" -prefix inc/ -n "$base"
  echo "  $m_secs s" >&2
fi
# The look-back window covers every object, however old the kept ones are:
# each run compares the whole listing with the whole ledger (the default, 24h
# behind the newest object loaded, would leave out kept objects over a day old
# without reading their ledger rows once the first new ones were loaded).
seed "$work/inc.yml" "$inc_bucket" inc/ '  incremental_lookback: 87600h
  parser:
    type: csv
    delimiter: ","
    columns:
      - {name: id, type: long}
      - {name: name, type: string}'
echo "first connector run over the $base objects (setup, not compared)" >&2
measure "$bin" connector issue "$work/inc.yml" --db "$pg" --table s --name inc
t_first_pg=$m_secs; expect "PostgreSQL after the first incremental run" "$(count_pg s)" "$base"
measure "$bin" connector issue "$work/inc.yml" --db "$my" --table s --name inc
t_first_my=$m_secs; expect "MariaDB after the first incremental run" "$(count_my s)" "$base"

list() { measure "$work/listonly" -bucket "$inc_bucket" -prefix inc/; keep t_list
  expect "ListObjectsV2 of s3://$inc_bucket/inc/" "$(cat "$work/out")" "$objects"; }
# warm lists the prefix once, untimed, after the new objects are written: whichever
# of the timed runs comes first then finds MinIO's listing as warm as the others do.
warm() { expect "ListObjectsV2 of s3://$inc_bucket/inc/" "$("$work/listonly" -bucket "$inc_bucket" -prefix inc/)" "$objects"; }
inc_pg() { measure "$bin" connector issue "$work/inc.yml" --db "$pg" --table s --name inc; keep t_inc_pg
  expect "PostgreSQL after incremental run $1" "$(count_pg s)" "$((base + new * $1))"; }
inc_my() { measure "$bin" connector issue "$work/inc.yml" --db "$my" --table s --name inc; keep t_inc_my
  expect "MariaDB after incremental run $1" "$(count_my s)" "$((base + new * $1))"; }
for r in $(seq "$runs"); do
  echo "incremental run $r of $runs" >&2
  late "$r"
  warm
  if (( r % 2 )); then list; inc_pg "$r"; inc_my "$r"; else inc_my "$r"; inc_pg "$r"; list; fi
  late "$r" -delete
done

# --- 3. guess on a 1 GiB gzip object: the gzip parts end to end (a multi-member
# gzip stream, as cat of .gz files makes) until it reaches 1 GiB
echo "making a 1 GiB gzip object" >&2
cat "$work/rows/"*.gz >"$work/one.csv.gz"
rm -r "$work/rows"
while (( $(stat -c %s "$work/big.csv.gz" 2>/dev/null || echo 0) < gib )); do cat "$work/one.csv.gz" >>"$work/big.csv.gz"; done
big_size=$(stat -c %s "$work/big.csv.gz")
aws_s3 cp "$work/big.csv.gz" "s3://$bucket/big/big.csv.gz"
rm "$work/big.csv.gz" "$work/one.csv.gz"
seed "$work/big-seed.yml" "$bucket" big/
for r in $(seq "$runs"); do
  measure "$bin" connector guess "$work/big-seed.yml" -o "$work/big.yml"; keep t_guess
  [ "$(grep -c '^ *- name: c[0-9]$' "$work/big.yml")" = 8 ] ||
    { echo "FAILED: connector guess of the 1 GiB object did not find the 8 columns:" >&2; cat "$work/big.yml" >&2; exit 1; }
done

# --- summary
mb() { echo "scale=1; $1 / 1048576" | bc; }
ok() { (( $(echo "$1 <= $2" | bc) )) && echo met || echo MISSED; }
below() { (( $(echo "$1 < $2" | bc) )) && echo met || echo MISSED; }
printf '\ns3bridge connector benchmark: local MinIO, best of %s, seconds; peak RSS in MB\n' "$runs"
printf '%-66s %8s %8s\n' case seconds "RSS MB"
row() { printf '%-66s %8.2f %8s\n' "$1" "$2" "${3:+$(($3 / 1024))}"; }
printf '1. %s rows (%s MB CSV) as %s gzip CSV objects (%s MB) under one prefix\n' "$rows" "$(mb "$csv_size")" "$parts" "$(mb "$gz_size")"
row "PostgreSQL s3bridge load --prefix" "$t_load_pg" "$t_load_pg_rss"
row "PostgreSQL connector issue (fresh ledger)" "$t_conn_pg" "$t_conn_pg_rss"
row "MariaDB s3bridge load --prefix" "$t_load_my" "$t_load_my_rss"
row "MariaDB connector issue (fresh ledger)" "$t_conn_my" "$t_conn_my_rss"
row "connector guess of the prefix (not compared)" "$t_guess_rows"
printf '2. %s objects under one prefix, %s of them new\n' "$objects" "$new"
row "bare ListObjectsV2 of the prefix (bench/internal/listonly)" "$t_list" "$t_list_rss"
row "PostgreSQL connector issue (incremental)" "$t_inc_pg" "$t_inc_pg_rss"
row "MariaDB connector issue (incremental)" "$t_inc_my" "$t_inc_my_rss"
row "PostgreSQL first run, $base objects (setup, not compared)" "$t_first_pg"
row "MariaDB first run, $base objects (setup, not compared)" "$t_first_my"
printf '3. one gzip object of %s MB\n' "$(mb "$big_size")"
row "connector guess" "$t_guess" "$t_guess_rss"
echo
ratio() { printf %.2f "$(echo "scale=4; $1 / $2" | bc)"; }
r1=$(ratio "$t_conn_pg" "$t_load_pg"); r2=$(ratio "$t_conn_my" "$t_load_my")
r3=$(ratio "$t_inc_pg" "$t_list"); r4=$(ratio "$t_inc_my" "$t_list")
printf 'ratio PostgreSQL connector issue / load --prefix: %sx (target <= 1.15: %s)\n' "$r1" "$(ok "$r1" 1.15)"
printf 'ratio MariaDB connector issue / load --prefix: %sx (target <= 1.15: %s)\n' "$r2" "$(ok "$r2" 1.15)"
rss_max=$(printf '%s\n' "$t_conn_pg_rss" "$t_conn_my_rss" | sort -n | tail -1)
printf 'peak RSS of connector issue: %s MB PostgreSQL, %s MB MariaDB (target < 150 MB: %s)\n' \
  "$((t_conn_pg_rss / 1024))" "$((t_conn_my_rss / 1024))" "$(below "$rss_max" $((150 * 1024)))"
printf 'incremental PostgreSQL: %.2f s (target < 10 s: %s), %sx the bare listing (target <= 1.2: %s)\n' \
  "$t_inc_pg" "$(below "$t_inc_pg" 10)" "$r3" "$(ok "$r3" 1.2)"
printf 'incremental MariaDB: %.2f s (target < 10 s: %s), %sx the bare listing (target <= 1.2: %s)\n' \
  "$t_inc_my" "$(below "$t_inc_my" 10)" "$r4" "$(ok "$r4" 1.2)"
printf 'guess on a %s MB gzip object: %.2f s (target < 1 s: %s)\n' "$(mb "$big_size")" "$t_guess" "$(below "$t_guess" 1)"
printf 'load average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
