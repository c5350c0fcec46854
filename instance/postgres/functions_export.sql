-- Export: aws_s3's query_export_to_s3, synchronous as on RDS, on top of
-- EXPORT_TO_S3 tasks. An agent runs the export, and it can only see a task
-- once it is committed, which the caller's statement is not until it
-- returns: so the task is enqueued and awaited through a dblink connection
-- of its own (an autonomous transaction). The agent runs the query in its
-- own read-only transaction as the caller's role, with the caller's
-- search_path, TimeZone, DateStyle and IntervalStyle: rows the caller's
-- open transaction has not committed are not exported, and the caller's
-- temporary tables are out of reach.
--
-- aws_commons's URI type and constructor, for the two-argument form,
-- exactly as functions_load.sql has them (whichever runs first creates
-- the type; the function is replaced by the same definition).
DO $$ BEGIN CREATE TYPE {s}._s3_uri_1 AS (bucket text, file_path text, region text);
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$
--;;
CREATE OR REPLACE FUNCTION {s}.create_s3_uri(bucket text, file_path text, region text DEFAULT NULL)
RETURNS {s}._s3_uri_1 LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT ROW($1, $2, $3)::{s}._s3_uri_1
$$
--;;
-- Heartbeats of the calls waiting for an export: the agent stops an export
-- whose caller has gone (cancelled, timed out, disconnected).
CREATE TABLE IF NOT EXISTS {s}.export_waits (
	task_id bigint PRIMARY KEY,
	seen_at timestamptz NOT NULL
)
--;;
-- dblink, in a schema of its own unless the database already has it. It is
-- contrib: where it is missing attach still succeeds, and
-- query_export_to_s3 says what to install.
DO $$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'dblink') THEN
		CREATE SCHEMA IF NOT EXISTS s3bridge_dblink;
		REVOKE ALL ON SCHEMA s3bridge_dblink FROM PUBLIC;
		CREATE EXTENSION dblink SCHEMA s3bridge_dblink;
	END IF;
EXCEPTION WHEN undefined_file OR feature_not_supported THEN
	RAISE WARNING 's3bridge: the dblink extension is not available (install PostgreSQL''s contrib package): query_export_to_s3 needs it';
END $$
--;;
CREATE OR REPLACE FUNCTION {s}._dblink_schema()
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'dblink'
$$
--;;
CREATE OR REPLACE FUNCTION {s}._conninfo_quote(v text)
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT '''' || replace(replace(v, '\', '\\'), '''', '\''') || ''''
$$
--;;
-- The connection back into this database: the local socket as the
-- function owner (who ran attach), unless the database sets
-- s3bridge.loopback to a libpq connection string
-- (ALTER DATABASE … SET s3bridge.loopback = 'host=… user=…'; a password
-- belongs in the server's .pgpass, not there).
CREATE OR REPLACE FUNCTION {s}._loopback()
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT coalesce(nullif(current_setting('s3bridge.loopback', true), ''),
		format('dbname=%s user=%s port=%s host=%s application_name=s3bridge_export',
			{s}._conninfo_quote(current_database()), {s}._conninfo_quote(current_user),
			current_setting('port'),
			{s}._conninfo_quote(coalesce(nullif(trim(split_part(current_setting('unix_socket_directories'), ',', 1)), ''), 'localhost'))))
$$
--;;
-- Runs on the dblink connection: the task, with the caller's session, and
-- its heartbeat, committed at once.
DROP FUNCTION IF EXISTS {s}._export_enqueue(jsonb, text)
--;;
CREATE OR REPLACE FUNCTION {s}._export_enqueue(p_meta jsonb, p_arn text, p_session text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_id bigint;
BEGIN
	DELETE FROM {s}.export_waits WHERE seen_at < clock_timestamp() - interval '1 day';
	v_id := {s}._enqueue('EXPORT_TO_S3', p_arn, NULL, coalesce((p_meta->>'overwrite')::boolean, false), p_meta);
	UPDATE {s}.tasks SET caller_session = p_session WHERE task_id = v_id;
	INSERT INTO {s}.export_waits (task_id, seen_at) VALUES (v_id, clock_timestamp());
	RETURN v_id;
END $$
--;;
-- Runs on the dblink connection: the task's state, its result's figures
-- and error code, and a heartbeat at most once a second. (Dropped first:
-- releases before returned fewer columns.) abandoned is set when this
-- poll has just cancelled the task because the agent running it died (its
-- lease ran out) and no live agent serves the instance to take it over:
-- the call would wait forever otherwise. It is _agent_missing's message,
-- which the caller raises. The cancel is guarded on the lease being still
-- expired, so an agent that took the task over meanwhile keeps it.
DROP FUNCTION IF EXISTS {s}._export_poll(bigint)
--;;
CREATE FUNCTION {s}._export_poll(p_task_id bigint, OUT lifecycle text, OUT task_info text,
	OUT rows_processed bigint, OUT files_processed bigint, OUT bytes_processed bigint, OUT error_code text,
	OUT abandoned text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_lease timestamptz;
BEGIN
	UPDATE {s}.export_waits w SET seen_at = clock_timestamp()
	WHERE w.task_id = p_task_id AND w.seen_at < clock_timestamp() - interval '1 second';
	SELECT t.lifecycle, t.task_info, t.rows_processed, t.files_processed, t.bytes_processed, t.error_code, t.lease_until
	INTO lifecycle, task_info, rows_processed, files_processed, bytes_processed, error_code, v_lease
	FROM {s}.tasks t WHERE t.task_id = p_task_id;
	IF lifecycle IN ('IN_PROGRESS', 'CANCEL_REQUESTED') AND v_lease < clock_timestamp() THEN
		abandoned := {s}._agent_missing();
		IF abandoned IS NOT NULL THEN
			UPDATE {s}.tasks t SET lifecycle = 'CANCELLED', error_code = 'cancelled',
				task_info = 'cancelled: the agent running it stopped, and ' || abandoned,
				finished_at = clock_timestamp(), last_updated = clock_timestamp(), lease_until = NULL
			WHERE t.task_id = p_task_id AND t.lifecycle IN ('IN_PROGRESS', 'CANCEL_REQUESTED') AND t.lease_until < clock_timestamp()
			RETURNING t.lifecycle, t.task_info, t.error_code INTO lifecycle, task_info, error_code;
			IF NOT FOUND THEN
				abandoned := NULL; -- taken over meanwhile: the next poll sees it
			END IF;
		END IF;
	END IF;
	IF lifecycle IN ('SUCCESS', 'ERROR', 'CANCELLED') THEN
		DELETE FROM {s}.export_waits w WHERE w.task_id = p_task_id;
	END IF;
END $$
--;;
-- _agent_missing is NULL when a running agent has recorded itself
-- recently (agents beat every 2 s; 10 s without a beat is gone; a stopped
-- agent is gone at once), else the error that says so, naming the fix and
-- when an agent was last seen. _agent_check raises it.
CREATE OR REPLACE FUNCTION {s}._agent_missing() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_alive timestamptz := (SELECT max(last_seen) FROM {s}.agents WHERE stopped_at IS NULL);
	v_last timestamptz := (SELECT max(last_seen) FROM {s}.agents);
BEGIN
	IF v_alive IS NULL OR v_alive < clock_timestamp() - interval '10 seconds' THEN
		RETURN format('no s3bridge agent is serving this instance (last seen %s); start one with: s3bridge agent --db postgres://…/%s',
			coalesce(to_char(v_last AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'), 'never'), current_database());
	END IF;
	RETURN NULL;
END $$
--;;
CREATE OR REPLACE FUNCTION {s}._agent_check(p_call text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_missing text := {s}._agent_missing();
BEGIN
	IF v_missing IS NOT NULL THEN
		RAISE EXCEPTION '%', v_missing
			USING ERRCODE = 'object_not_in_prerequisite_state', HINT = p_call || ' waits for an agent to run its task';
	END IF;
END $$
--;;
-- _pickup_timeout is the bound on the wait for an agent to start a task:
-- the session's s3bridge.pickup_timeout when set (SET s3bridge.pickup_timeout
-- = '5s'; an interval, a bare number being seconds), else the instance's
-- (settings pickup_timeout_seconds, default 30 s). A value that is not a
-- positive interval is refused rather than taken for the default.
CREATE OR REPLACE FUNCTION {s}._pickup_timeout() RETURNS interval
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_set text := nullif(trim(current_setting('s3bridge.pickup_timeout', true)), '');
	v_pickup interval;
BEGIN
	IF v_set IS NULL THEN
		RETURN make_interval(secs => coalesce((SELECT nullif(value::jsonb->>'pickup_timeout_seconds', '')::int
			FROM {s}.settings WHERE name = 'settings'), 30));
	END IF;
	BEGIN
		v_pickup := v_set::interval;
	EXCEPTION WHEN data_exception THEN
		v_pickup := NULL;
	END;
	IF v_pickup IS NULL OR v_pickup <= interval '0' THEN
		RAISE EXCEPTION 's3bridge.pickup_timeout %: want a positive interval such as ''5s'' or ''2 min''', quote_literal(v_set)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN v_pickup;
END $$
--;;
-- Runs on the dblink connection: cancels a task no agent has started and
-- returns 1, or 0 when an agent took it meanwhile.
CREATE OR REPLACE FUNCTION {s}._cancel_unstarted(p_task_id bigint, p_info text) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	WITH c AS (UPDATE {s}.tasks SET lifecycle = 'CANCELLED', task_info = p_info, error_code = 'cancelled',
		finished_at = clock_timestamp(), last_updated = clock_timestamp()
		WHERE task_id = p_task_id AND lifecycle = 'CREATED' RETURNING 1)
	SELECT count(*) FROM c
$$
--;;
-- A client process that dies while its query_export_to_s3 waits leaves a
-- closed socket that nothing reads: the backend would poll on, active, and
-- the agent would find the caller's session alive and run the export to
-- its end. client_connection_check_interval (PostgreSQL 14 and later, on
-- Linux) has the server look at the socket every second while a query
-- runs, and end the backend whose client is gone. It takes effect only
-- from the start of a statement, never when set inside the call, so it is
-- the database's default for its new sessions; a setting the database
-- already has (an administrator's) is kept. Where it can't be set, attach
-- still succeeds and says so.
DO $$
DECLARE
	v_set boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) c
		WHERE s.setrole = 0 AND s.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
		AND c LIKE 'client\_connection\_check\_interval=%');
BEGIN
	IF NOT v_set THEN
		EXECUTE pg_catalog.format('ALTER DATABASE %I SET client_connection_check_interval = %L', pg_catalog.current_database(), '1s');
	END IF;
EXCEPTION WHEN undefined_object OR invalid_parameter_value OR insufficient_privilege THEN
	RAISE WARNING 's3bridge: client_connection_check_interval not set for this database (%): a query_export_to_s3 whose client process dies runs its export to the end (ALTER DATABASE … SET client_connection_check_interval = ''1s'' on PostgreSQL 14 and later)', SQLERRM;
END $$
--;;
-- Enqueues an export for p_caller and waits for it. Anyone allowed to call
-- it may name only a role their session user belongs to: one they could
-- SET ROLE to anyway. A cancel or statement_timeout cancels the task; a
-- client that goes away ends the backend (client_connection_check_interval,
-- set for the database below), and the agent, finding the caller's session
-- gone, cancels the task.
CREATE OR REPLACE FUNCTION {s}._export_run(p_caller text, p_meta jsonb, p_arn text,
	OUT rows_uploaded bigint, OUT files_uploaded bigint, OUT bytes_uploaded bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_dl text := {s}._dblink_schema();
	v_s text := $sch${s}$sch$;
	v_conn text := 's3bridge_export';
	v_open boolean;
	v_id bigint;
	v_state text;
	v_info text;
	v_rows bigint;
	v_files bigint;
	v_bytes bigint;
	v_code text;
	v_session text := pg_backend_pid() || '@' || (SELECT floor(extract(epoch FROM backend_start) * 1000)::bigint
		FROM pg_stat_activity WHERE pid = pg_backend_pid());
	v_started timestamptz := clock_timestamp();
	v_pickup interval := {s}._pickup_timeout();
	v_abandoned text;
BEGIN
	PERFORM {s}._agent_check('query_export_to_s3');
	IF v_dl IS NULL THEN
		RAISE EXCEPTION 'query_export_to_s3 needs the dblink extension (PostgreSQL''s contrib package): the export is enqueued outside the calling transaction'
			USING ERRCODE = 'feature_not_supported';
	END IF;
	IF NOT pg_has_role(session_user, p_caller, 'MEMBER') THEN
		RAISE EXCEPTION 'export caller % is not a role of session user %', p_caller, session_user
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	EXECUTE format('SELECT $1 = ANY (coalesce(%I.dblink_get_connections(), ''{}''))', v_dl) INTO v_open USING v_conn;
	IF v_open THEN
		EXECUTE format('SELECT %I.dblink_disconnect($1)', v_dl) USING v_conn;
	END IF;
	EXECUTE format('SELECT %I.dblink_connect($1, $2)', v_dl) USING v_conn, {s}._loopback();
	BEGIN
		EXECUTE format('SELECT id FROM %I.dblink($1, $2) AS t(id bigint)', v_dl) INTO v_id
			USING v_conn, format('SELECT %s._export_enqueue(%L::jsonb, %L, %L)', v_s,
				p_meta || jsonb_build_object('caller', p_caller, 'waiting', true), p_arn, v_session);
		LOOP
			PERFORM pg_sleep(0.02);
			EXECUTE format('SELECT * FROM %I.dblink($1, $2) AS t(lifecycle text, task_info text, '
					|| 'rows_processed bigint, files_processed bigint, bytes_processed bigint, error_code text, abandoned text)', v_dl)
				INTO v_state, v_info, v_rows, v_files, v_bytes, v_code, v_abandoned
				USING v_conn, format('SELECT * FROM %s._export_poll(%s)', v_s, v_id);
			-- Its agent died and none is left to take it over: the poll
			-- cancelled it. The handler below disconnects.
			IF v_abandoned IS NOT NULL THEN
				RAISE EXCEPTION '%', v_abandoned USING ERRCODE = 'object_not_in_prerequisite_state',
					DETAIL = format('export task %s is cancelled: the agent running it stopped, and no agent is left to take it over', v_id),
					HINT = 'query_export_to_s3 waits for an agent to run its task';
			END IF;
			EXIT WHEN v_state IN ('SUCCESS', 'ERROR', 'CANCELLED');
			-- Not picked up in time: cancel it (only if still CREATED: an
			-- agent may take it this instant) and say so.
			IF v_state = 'CREATED' AND clock_timestamp() - v_started > v_pickup THEN
				EXECUTE format('SELECT * FROM %I.dblink($1, $2) AS t(n bigint)', v_dl) INTO v_rows
					USING v_conn, format('SELECT %s._cancel_unstarted(%s, %L)', v_s, v_id,
						format('cancelled: no s3bridge agent started it within %s', v_pickup));
				IF v_rows = 1 THEN
					-- The handler below disconnects.
					RAISE EXCEPTION 'export task %: no s3bridge agent started it within % (it is cancelled); is an agent running for this instance? s3bridge agent --db postgres://…/%',
						v_id, v_pickup, current_database() USING ERRCODE = 'object_not_in_prerequisite_state';
				END IF;
			END IF;
		END LOOP;
	EXCEPTION
		WHEN query_canceled THEN
			IF v_id IS NOT NULL THEN
				BEGIN
					EXECUTE format('SELECT %I.dblink_exec($1, $2)', v_dl) USING v_conn, format('SELECT %s.cancel_task(%s)', v_s, v_id);
				EXCEPTION WHEN OTHERS THEN
					NULL; -- it finished meanwhile
				END;
			END IF;
			EXECUTE format('SELECT %I.dblink_disconnect($1)', v_dl) USING v_conn;
			RAISE;
		WHEN OTHERS THEN
			EXECUTE format('SELECT %I.dblink_disconnect($1)', v_dl) USING v_conn;
			RAISE;
	END;
	EXECUTE format('SELECT %I.dblink_disconnect($1)', v_dl) USING v_conn;
	IF v_state = 'CANCELLED' THEN
		RAISE EXCEPTION 'export task % was cancelled: %', v_id, v_info USING ERRCODE = 'query_canceled';
	ELSIF v_state <> 'SUCCESS' THEN
		-- The task's error code as a SQLSTATE: access denied (by the
		-- database or a policy) is 42501; a SQLSTATE the database raised
		-- (upper case, where s3bridge's classes are lower case) is raised
		-- again; anything else is external_routine_exception.
		v_code := CASE
			WHEN v_code IN ('access_denied', 'credentials_expired') THEN '42501'
			WHEN length(v_code) = 5 AND v_code = upper(v_code) THEN v_code
			ELSE '38000' END;
		RAISE EXCEPTION 'export task %: %', v_id, v_info USING ERRCODE = v_code;
	END IF;
	-- The figures are the task's columns, never read back from task_info.
	rows_uploaded := v_rows;
	files_uploaded := v_files;
	bytes_uploaded := v_bytes;
END $$
--;;
-- aws_s3.query_export_to_s3. SECURITY INVOKER, so current_user and the
-- session settings it records are the caller's. options are COPY's (plus
-- s3bridge's format jsonl|parquet, compression, max_file_size); region is
-- taken for compatibility, the bucket's own region being detected. Files
-- are named file_path, file_path_part2… and replaced when they exist, as
-- aws_s3 does.
CREATE OR REPLACE FUNCTION {s}.query_export_to_s3(query text, bucket text, file_path text,
	region text DEFAULT NULL, options text DEFAULT NULL,
	OUT rows_uploaded bigint, OUT files_uploaded bigint, OUT bytes_uploaded bigint)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	SELECT r.rows_uploaded, r.files_uploaded, r.bytes_uploaded INTO rows_uploaded, files_uploaded, bytes_uploaded
	FROM {s}._export_run(current_user::text, pg_catalog.jsonb_build_object(
		'query', query, 'uri', 's3://' || bucket || '/' || file_path, 'copy_options', coalesce(options, ''),
		'naming', 'aws_s3', 'overwrite', true,
		'session', pg_catalog.jsonb_build_object(
			'search_path', pg_catalog.current_setting('search_path'),
			'TimeZone', pg_catalog.current_setting('TimeZone'),
			'DateStyle', pg_catalog.current_setting('DateStyle'),
			'IntervalStyle', pg_catalog.current_setting('IntervalStyle'))),
		'arn:aws:s3:::' || bucket || '/' || file_path) r;
END $$
--;;
CREATE OR REPLACE FUNCTION {s}.query_export_to_s3(query text, s3_info {s}._s3_uri_1, options text DEFAULT NULL,
	OUT rows_uploaded bigint, OUT files_uploaded bigint, OUT bytes_uploaded bigint)
LANGUAGE sql VOLATILE AS $$
	SELECT * FROM {s}.query_export_to_s3(query, (s3_info).bucket, (s3_info).file_path, (s3_info).region, options)
$$
--;;
REVOKE EXECUTE ON FUNCTION {s}.create_s3_uri(text, text, text), {s}._dblink_schema(), {s}._loopback(),
	{s}._conninfo_quote(text), {s}._export_enqueue(jsonb, text, text), {s}._export_poll(bigint),
	{s}._agent_missing(), {s}._agent_check(text), {s}._pickup_timeout(), {s}._cancel_unstarted(bigint, text),
	{s}._export_run(text, jsonb, text), {s}.query_export_to_s3(text, text, text, text, text),
	{s}.query_export_to_s3(text, {s}._s3_uri_1, text)
	FROM PUBLIC
--;;
REVOKE ALL ON {s}.export_waits FROM PUBLIC
--;;
GRANT EXECUTE ON FUNCTION {s}.create_s3_uri(text, text, text), {s}._export_run(text, jsonb, text),
	{s}.query_export_to_s3(text, text, text, text, text), {s}.query_export_to_s3(text, {s}._s3_uri_1, text)
	TO s3bridge_export
