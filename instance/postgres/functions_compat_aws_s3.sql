-- attach --compat aws_s3: RDS's own schemas, types and signatures
-- (aws_commons, aws_s3), so code written for RDS runs unchanged. Every
-- function hands over to the s3bridge schema's implementation; nothing
-- here imports or exports by itself. Installed after the other
-- functions*.sql files, and only when the settings ask for it
-- (postgres.go): the comment on each schema says which s3bridge schema
-- owns it, so detach drops only its own and attach refuses a foreign one.
CREATE SCHEMA IF NOT EXISTS aws_commons
--;;
CREATE SCHEMA IF NOT EXISTS aws_s3
--;;
COMMENT ON SCHEMA aws_commons IS {mark}
--;;
COMMENT ON SCHEMA aws_s3 IS {mark}
--;;
DO $$ BEGIN CREATE TYPE aws_commons._s3_uri_1 AS (bucket text, file_path text, region text);
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$
--;;
DO $$ BEGIN CREATE TYPE aws_commons._aws_credentials_1 AS (access_key text, secret_key text, session_token text);
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$
--;;
CREATE OR REPLACE FUNCTION aws_commons.create_s3_uri(bucket text, file_path text, region text)
RETURNS aws_commons._s3_uri_1 LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT ROW($1, $2, $3)::aws_commons._s3_uri_1
$$
--;;
CREATE OR REPLACE FUNCTION aws_commons.create_aws_credentials(access_key text, secret_key text, session_token text)
RETURNS aws_commons._aws_credentials_1 LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT ROW($1, $2, $3)::aws_commons._aws_credentials_1
$$
--;;
-- Keys passed as arguments are refused, never used: table_import_from_s3
-- reads through s3-cat, run by COPY … FROM PROGRAM, and the only way to
-- hand it keys is its command line, which every local user sees in ps for
-- the duration and which PostgreSQL repeats in the CONTEXT of any COPY
-- error (client and server log). An empty set (all three empty or NULL)
-- means "no keys", as on RDS, and the instance's credentials apply.
CREATE OR REPLACE FUNCTION aws_s3._no_keys(access_key text, secret_key text, session_token text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT coalesce(access_key, '') = '' AND coalesce(secret_key, '') = '' AND coalesce(session_token, '') = ''
$$
--;;
-- _refuse_keys raises the refusal. The caller's statement holds the keys
-- as literals, and PostgreSQL logs the statement of every error
-- (log_min_error_statement = error): where attach ran as a superuser,
-- this function is set (below) to keep that statement out of the log.
-- The message never quotes an argument.
CREATE OR REPLACE FUNCTION aws_s3._refuse_keys(fn text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RAISE EXCEPTION '%: credentials passed as arguments are not supported by s3bridge (they would reach a command line on the database host)', fn
		USING ERRCODE = 'feature_not_supported',
		HINT = 'call it without credentials: the instance''s credentials apply (s3bridge attach --credentials-file FILE for table_import_from_s3, the agent''s environment or --role FEATURE=ROLE_ARN for exports)';
END $$
--;;
DO $$ BEGIN
	IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		ALTER FUNCTION aws_s3._refuse_keys(text) SET log_min_error_statement = panic;
	END IF;
END $$
--;;
CREATE OR REPLACE FUNCTION aws_s3.table_import_from_s3(table_name text, column_list text, options text,
	bucket text, file_path text, region text)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN {s}.table_import_from_s3(table_name, column_list, options, bucket, file_path, region);
END $$
--;;
CREATE OR REPLACE FUNCTION aws_s3.table_import_from_s3(table_name text, column_list text, options text,
	bucket text, file_path text, region text, access_key text, secret_key text, session_token text)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	IF NOT aws_s3._no_keys(access_key, secret_key, session_token) THEN
		PERFORM aws_s3._refuse_keys('aws_s3.table_import_from_s3');
	END IF;
	RETURN {s}.table_import_from_s3(table_name, column_list, options, bucket, file_path, region);
END $$
--;;
CREATE OR REPLACE FUNCTION aws_s3.table_import_from_s3(table_name text, column_list text, options text,
	s3_info aws_commons._s3_uri_1)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN {s}.table_import_from_s3(table_name, column_list, options, (s3_info).bucket, (s3_info).file_path, (s3_info).region);
END $$
--;;
CREATE OR REPLACE FUNCTION aws_s3.table_import_from_s3(table_name text, column_list text, options text,
	s3_info aws_commons._s3_uri_1, credentials aws_commons._aws_credentials_1)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	IF NOT aws_s3._no_keys((credentials).access_key, (credentials).secret_key, (credentials).session_token) THEN
		PERFORM aws_s3._refuse_keys('aws_s3.table_import_from_s3');
	END IF;
	RETURN {s}.table_import_from_s3(table_name, column_list, options, (s3_info).bucket, (s3_info).file_path, (s3_info).region);
END $$
--;;
-- RDS's kms_key names the key to encrypt the exported files with;
-- s3bridge writes with the bucket's default encryption, so a key is
-- refused rather than silently ignored.
CREATE OR REPLACE FUNCTION aws_s3.query_export_to_s3(query text, bucket text, file_path text,
	region text DEFAULT NULL, options text DEFAULT NULL, kms_key text DEFAULT NULL,
	OUT rows_uploaded bigint, OUT files_uploaded bigint, OUT bytes_uploaded bigint)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF coalesce(kms_key, '') <> '' THEN
		RAISE EXCEPTION 'aws_s3.query_export_to_s3: kms_key is not supported by s3bridge'
			USING ERRCODE = 'feature_not_supported',
			HINT = 'set SSE-KMS with that key as the bucket''s default encryption and call it without kms_key';
	END IF;
	SELECT r.rows_uploaded, r.files_uploaded, r.bytes_uploaded INTO rows_uploaded, files_uploaded, bytes_uploaded
	FROM {s}.query_export_to_s3(query, bucket, file_path, region, options) r;
END $$
--;;
CREATE OR REPLACE FUNCTION aws_s3.query_export_to_s3(query text, s3_info aws_commons._s3_uri_1,
	options text DEFAULT NULL, kms_key text DEFAULT NULL,
	OUT rows_uploaded bigint, OUT files_uploaded bigint, OUT bytes_uploaded bigint)
LANGUAGE sql VOLATILE AS $$
	SELECT * FROM aws_s3.query_export_to_s3(query, (s3_info).bucket, (s3_info).file_path, (s3_info).region, options, kms_key)
$$
--;;
REVOKE ALL ON SCHEMA aws_s3, aws_commons FROM PUBLIC
--;;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA aws_s3, aws_commons FROM PUBLIC
--;;
GRANT USAGE ON SCHEMA aws_s3, aws_commons TO s3bridge_load, s3bridge_export
--;;
GRANT USAGE ON TYPE aws_commons._s3_uri_1, aws_commons._aws_credentials_1 TO s3bridge_load, s3bridge_export
--;;
GRANT EXECUTE ON FUNCTION aws_commons.create_s3_uri(text, text, text), aws_commons.create_aws_credentials(text, text, text)
	TO s3bridge_load, s3bridge_export
--;;
GRANT EXECUTE ON FUNCTION aws_s3._no_keys(text, text, text), aws_s3._refuse_keys(text),
	aws_s3.table_import_from_s3(text, text, text, text, text, text),
	aws_s3.table_import_from_s3(text, text, text, text, text, text, text, text, text),
	aws_s3.table_import_from_s3(text, text, text, aws_commons._s3_uri_1),
	aws_s3.table_import_from_s3(text, text, text, aws_commons._s3_uri_1, aws_commons._aws_credentials_1)
	TO s3bridge_load
--;;
GRANT EXECUTE ON FUNCTION aws_s3.query_export_to_s3(text, text, text, text, text, text),
	aws_s3.query_export_to_s3(text, aws_commons._s3_uri_1, text, text)
	TO s3bridge_export
