# shellcheck shell=bash
# Sourced by the database benchmarks: starts the services, then
# bench_setup NAME makes a work directory, a PostgreSQL and a MariaDB
# database and a MinIO bucket for the run, all removed on exit, and sets
# work, db, pg, my (instance URLs), bucket and aws_s3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_services
command -v aws >/dev/null || apt_install awscli

bench_setup() {
  work=$(mktemp -d "/tmp/s3bridge-$1-XXXXXX")
  chmod 777 "$work" # the database server writes the reference file here
  db=s3b_$1_$$
  pg="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
  my="mysql://root@127.0.0.1:3306/$db?s3bridge_schema=${db}_bridge"
  export AWS_ACCESS_KEY_ID=$S3BRIDGE_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3BRIDGE_TEST_S3_SECRET_KEY AWS_REGION=us-east-1
  export AWS_ENDPOINT_URL=$S3BRIDGE_TEST_S3_ENDPOINT
  bucket=$1-$(date +%s)
  trap bench_cleanup EXIT
}

aws_s3() { aws --endpoint-url "$S3BRIDGE_TEST_S3_ENDPOINT" s3 "$@" >/dev/null; }

bench_cleanup() {
  aws_s3 rb --force "s3://$bucket" || true
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  mariadb -uroot -e "DROP DATABASE IF EXISTS $db; DROP DATABASE IF EXISTS ${db}_bridge" || true
  rm -rf "$work"
}
