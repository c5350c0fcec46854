-- The SQL interface: RDS's procedures as functions with RDS's parameter
-- names. They only enqueue and read; agents do the work. SECURITY DEFINER so
-- callers need EXECUTE, not rights on the tables; search_path pinned so a
-- caller's objects can't stand in for ours.
CREATE OR REPLACE FUNCTION {s}._enqueue(p_type text, p_arn text, p_path text, p_overwrite boolean, p_meta jsonb)
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	INSERT INTO {s}.tasks (task_type, database_name, lifecycle, created_at, last_updated,
		s3_object_arn, file_path, overwrite_file, task_metadata)
	VALUES (p_type, current_database(), 'CREATED', clock_timestamp(), clock_timestamp(),
		p_arn, p_path, coalesce(p_overwrite, false), p_meta)
	RETURNING task_id
$$
--;;
CREATE OR REPLACE FUNCTION {s}.upload_to_s3(p_bucket_name text, p_prefix text, p_s3_prefix text,
	p_directory_name text, p_compression_level integer DEFAULT 0)
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT {s}._enqueue('UPLOAD_TO_S3', 'arn:aws:s3:::' || p_bucket_name || '/' || coalesce(p_s3_prefix, ''), NULL, false,
		jsonb_build_object('kind', 'directory', 'p_bucket_name', p_bucket_name, 'p_prefix', coalesce(p_prefix, ''),
			'p_s3_prefix', coalesce(p_s3_prefix, ''), 'p_directory_name', p_directory_name,
			'p_compression_level', coalesce(p_compression_level, 0)))
$$
--;;
CREATE OR REPLACE FUNCTION {s}.download_from_s3(p_bucket_name text, p_directory_name text,
	p_s3_prefix text DEFAULT '', p_decompression_format text DEFAULT 'NONE', p_error_on_zero_downloads text DEFAULT 'FALSE')
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT {s}._enqueue('DOWNLOAD_FROM_S3', 'arn:aws:s3:::' || p_bucket_name || '/' || coalesce(p_s3_prefix, ''), NULL, false,
		jsonb_build_object('kind', 'directory', 'p_bucket_name', p_bucket_name, 'p_directory_name', p_directory_name,
			'p_s3_prefix', coalesce(p_s3_prefix, ''), 'p_decompression_format', coalesce(p_decompression_format, 'NONE'),
			'p_error_on_zero_downloads', coalesce(p_error_on_zero_downloads, 'FALSE')))
$$
--;;
CREATE OR REPLACE FUNCTION {s}.download_file_from_s3(s3_arn_of_file text, file_path text DEFAULT NULL, overwrite_file integer DEFAULT 0)
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT {s}._enqueue('DOWNLOAD_FROM_S3', $1, $2, coalesce($3, 0) = 1,
		jsonb_build_object('kind', 'file', 's3_arn_of_file', $1, 'file_path', coalesce($2, ''), 'overwrite_file', coalesce($3, 0)))
$$
--;;
CREATE OR REPLACE FUNCTION {s}.upload_file_to_s3(file_path text, s3_arn_of_file text, overwrite_file integer DEFAULT 0)
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT {s}._enqueue('UPLOAD_TO_S3', $2, $1, coalesce($3, 0) = 1,
		jsonb_build_object('kind', 'file', 's3_arn_of_file', $2, 'file_path', $1, 'overwrite_file', coalesce($3, 0)))
$$
--;;
CREATE OR REPLACE FUNCTION {s}.gather_file_details()
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT {s}._enqueue('LIST_FILES_ON_DISK', NULL, NULL, false, '{}'::jsonb)
$$
--;;
CREATE OR REPLACE FUNCTION {s}.delete_from_filesystem(file_path text, force_delete integer DEFAULT 0)
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT {s}._enqueue('DELETE_FILES_ON_DISK', NULL, $1, false,
		jsonb_build_object('file_path', $1, 'force_delete', coalesce($2, 0)))
$$
--;;
CREATE OR REPLACE FUNCTION {s}.task_status(p_db text, p_task_id bigint)
RETURNS TABLE (task_id bigint, task_type text, database_name text, percent_complete integer, duration_mins numeric,
	lifecycle text, task_info text, last_updated timestamptz, created_at timestamptz, s3_object_arn text,
	filepath text, overwrite_file boolean, task_metadata jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT t.task_id, t.task_type, t.database_name, t.percent_complete,
		coalesce(round((extract(epoch FROM coalesce(t.finished_at, clock_timestamp()) - t.started_at) / 60)::numeric, 2), 0),
		t.lifecycle, t.task_info, t.last_updated, t.created_at, t.s3_object_arn, t.file_path, t.overwrite_file, t.task_metadata
	FROM {s}.tasks t
	WHERE (coalesce(p_task_id, 0) = 0 OR t.task_id = p_task_id) AND (p_db IS NULL OR t.database_name = p_db)
	ORDER BY t.task_id
$$
--;;
CREATE OR REPLACE FUNCTION {s}.read_task_log(p_task_id bigint)
RETURNS TABLE (text text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT to_char(l.logged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') || ' UTC [' || rpad(l.level, 5) || '] ' || l.message
	FROM {s}.task_log l WHERE l.task_id = p_task_id ORDER BY l.line_id
$$
--;;
CREATE OR REPLACE FUNCTION {s}.list_file_details(p_task_id bigint)
RETURNS TABLE (filepath text, size_in_bytes bigint, last_modified_utc timestamptz, is_directory boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT f.filepath, f.size_in_bytes, f.last_modified_utc, f.is_directory
	FROM {s}.file_details f WHERE f.task_id = p_task_id ORDER BY f.filepath
$$
--;;
CREATE OR REPLACE FUNCTION {s}.cancel_task(p_task_id bigint)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_type text;
	v_state text;
BEGIN
	SELECT t.task_type, t.lifecycle INTO v_type, v_state FROM {s}.tasks t WHERE t.task_id = p_task_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'task % not found', p_task_id USING ERRCODE = 'no_data_found';
	END IF;
	IF v_state = 'CREATED' THEN
		UPDATE {s}.tasks SET lifecycle = 'CANCELLED', task_info = 'cancelled before it started',
			finished_at = clock_timestamp(), last_updated = clock_timestamp() WHERE task_id = p_task_id;
		RETURN 'CANCELLED';
	ELSIF v_state = 'IN_PROGRESS' THEN
		IF v_type IN ('LIST_FILES_ON_DISK', 'DELETE_FILES_ON_DISK') THEN
			RAISE EXCEPTION 'task % is a % task in progress: it cannot be cancelled', p_task_id, v_type
				USING ERRCODE = 'object_not_in_prerequisite_state';
		END IF;
		UPDATE {s}.tasks SET lifecycle = 'CANCEL_REQUESTED', last_updated = clock_timestamp() WHERE task_id = p_task_id;
		RETURN 'CANCEL_REQUESTED';
	ELSIF v_state = 'CANCEL_REQUESTED' THEN
		RETURN v_state;
	END IF;
	RAISE EXCEPTION 'task % is %: it cannot be cancelled', p_task_id, v_state
		USING ERRCODE = 'object_not_in_prerequisite_state';
END $$
--;;
-- Grants, like AWS_LOAD_S3_ACCESS: nobody but the owner may call anything
-- until granted one of these roles (roles are cluster-wide; creating one
-- that exists is fine, even when two attaches race).
DO $$ BEGIN CREATE ROLE s3bridge_transfer NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$
--;;
DO $$ BEGIN CREATE ROLE s3bridge_load NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$
--;;
DO $$ BEGIN CREATE ROLE s3bridge_export NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$
--;;
REVOKE ALL ON SCHEMA {s} FROM PUBLIC
--;;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA {s} FROM PUBLIC
--;;
GRANT USAGE ON SCHEMA {s} TO s3bridge_transfer, s3bridge_load, s3bridge_export
--;;
GRANT EXECUTE ON FUNCTION {s}.upload_to_s3(text, text, text, text, integer), {s}.download_from_s3(text, text, text, text, text),
	{s}.download_file_from_s3(text, text, integer), {s}.upload_file_to_s3(text, text, integer),
	{s}.gather_file_details(), {s}.delete_from_filesystem(text, integer), {s}.list_file_details(bigint)
	TO s3bridge_transfer
--;;
GRANT EXECUTE ON FUNCTION {s}.task_status(text, bigint), {s}.read_task_log(bigint), {s}.cancel_task(bigint)
	TO s3bridge_transfer, s3bridge_load, s3bridge_export
