-- aws_s3-compatible import. table_import_from_s3 runs in the caller's
-- transaction (a ROLLBACK undoes it) as COPY … FROM PROGRAM, the program
-- being the s3bridge binary on this host streaming the object to stdout.
-- The command line is built from single-quoted arguments, so the shell
-- interpolates nothing; the caller's COPY options are read and written
-- again from an allow-list (no WHERE, no second statement, every literal
-- re-quoted) because the COPY runs with the owner's rights.
DO $$ BEGIN CREATE TYPE {s}._s3_uri_1 AS (bucket text, file_path text, region text);
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$
--;;
CREATE OR REPLACE FUNCTION {s}.create_s3_uri(bucket text, file_path text, region text DEFAULT NULL)
RETURNS {s}._s3_uri_1 LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT ROW($1, $2, $3)::{s}._s3_uri_1
$$
--;;
CREATE OR REPLACE FUNCTION {s}._sh(arg text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT '''' || replace(arg, '''', '''\''''') || ''''
$$
--;;
CREATE OR REPLACE FUNCTION {s}._copy_options(options text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
-- The options are never passed on as the caller wrote them: they are read
-- token by token and written again (words from an allow-list, punctuation,
-- and every literal decoded here and quoted again by quote_literal), so no
-- disagreement between this reading and PostgreSQL's lexer (E'' strings,
-- backslashes, standard_conforming_strings) can turn a literal's text into
-- SQL run with the owner's rights. Escape strings are decoded for the
-- escapes COPY options use (\t \n \r \b \f \\ \'); others are refused.
DECLARE
	rest text := coalesce(options, '');
	out text := '';
	tok text;
	val text;
	i int;
	c text;
BEGIN
	LOOP
		rest := ltrim(rest, E' \t\r\n');
		EXIT WHEN rest = '';
		tok := (regexp_match(rest, $r$^([Ee]'(?:[^'\\]|''|\\.)*'|'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[(),])$r$))[1];
		IF tok IS NULL THEN
			RAISE EXCEPTION 'options %: only COPY options are allowed (no ;, comments or operators); % is not one',
				quote_literal(options), quote_literal(left(rest, 20)) USING ERRCODE = 'invalid_parameter_value';
		END IF;
		rest := substr(rest, length(tok) + 1);
		IF tok ~ $r$^[Ee]'$r$ THEN
			val := '';
			i := 3;
			WHILE i < length(tok) LOOP
				c := substr(tok, i, 1);
				IF c = $r$\$r$ THEN
					i := i + 1;
					c := substr(tok, i, 1);
					IF c NOT IN ('t', 'n', 'r', 'b', 'f', $r$\$r$, $r$'$r$) THEN
						RAISE EXCEPTION 'options %: the escape \% is not supported in an option''s value (use \t \n \r \b \f \\ or \'')',
							quote_literal(options), c USING ERRCODE = 'invalid_parameter_value';
					END IF;
					val := val || CASE c WHEN 't' THEN chr(9) WHEN 'n' THEN chr(10) WHEN 'r' THEN chr(13) WHEN 'b' THEN chr(8)
						WHEN 'f' THEN chr(12) ELSE c END;
				ELSIF c = $r$'$r$ THEN
					i := i + 1; -- '' is one quote
					val := val || c;
				ELSE
					val := val || c;
				END IF;
				i := i + 1;
			END LOOP;
			out := out || ' ' || quote_literal(val);
		ELSIF left(tok, 1) = $r$'$r$ THEN
			out := out || ' ' || quote_literal(replace(substr(tok, 2, length(tok) - 2), $r$''$r$, $r$'$r$));
		ELSIF tok ~ '^[A-Za-z_]' THEN
			IF lower(tok) NOT IN ('format', 'csv', 'text', 'binary', 'delimiter', 'null', 'header', 'quote', 'escape',
					'encoding', 'freeze', 'true', 'false', 'on', 'off', 'with', 'as', 'match') THEN
				RAISE EXCEPTION 'options %: % is not an allowed COPY option', quote_literal(options), tok
					USING ERRCODE = 'invalid_parameter_value';
			END IF;
			out := out || ' ' || lower(tok);
		ELSE
			out := out || ' ' || tok;
		END IF;
	END LOOP;
	RETURN out;
END $$
--;;
-- _scrubbed is an error text with the program's command line in it (COPY
-- names the program it ran) made fit for the caller: the command holds the
-- instance's settings and the credentials file's path, which are not the
-- caller's to see.
CREATE OR REPLACE FUNCTION {s}._scrubbed(msg text, cmd text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT replace(replace(msg, cmd, 's3bridge s3-cat'), 'S3BRIDGE_SETTINGS=', 'S3BRIDGE_SETTINGS=…')
$$
--;;
-- s3-cat prints one JSON line ({"size": N} or {"error", "detail", "sqlstate"})
-- for the probe and the recorded-error calls; these COPY options read such a
-- line as one field (JSON escapes every control character).
-- Its errors never show the command line (the instance's settings, the
-- credentials file's path): see _scrubbed.
CREATE OR REPLACE FUNCTION {s}._s3cat_line(cmd text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET client_min_messages = warning AS $$
DECLARE
	line jsonb;
	st text;
	msg text;
	det text;
BEGIN
	CREATE TEMP TABLE IF NOT EXISTS _s3bridge_out (line text);
	DELETE FROM _s3bridge_out;
	BEGIN
		EXECUTE format('COPY _s3bridge_out FROM PROGRAM %L WITH (FORMAT csv, DELIMITER E''\x1f'', QUOTE E''\x1e'', ENCODING ''UTF8'')', cmd);
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
		RAISE EXCEPTION USING ERRCODE = st, MESSAGE = {s}._scrubbed(msg, cmd), DETAIL = coalesce({s}._scrubbed(det, cmd), '');
	END;
	SELECT o.line::jsonb INTO line FROM _s3bridge_out o;
	RETURN line;
END $$
--;;
-- _raise_s3cat raises what s3-cat reported, in its words.
CREATE OR REPLACE FUNCTION {s}._raise_s3cat(line jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF line ? 'error' THEN
		RAISE EXCEPTION USING MESSAGE = line->>'error', DETAIL = coalesce(line->>'detail', ''),
			ERRCODE = coalesce(line->>'sqlstate', 'XX000');
	END IF;
END $$
--;;
-- _s3cat_cmd is the command line of the s3bridge binary on this host as
-- table_import_from_s3 runs it: the instance's settings and name (from
-- the settings table, never from a caller), the credentials file, and the
-- bucket's region when the caller gave one.
CREATE OR REPLACE FUNCTION {s}._s3cat_cmd(region text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	set_text text := (SELECT value FROM {s}.settings WHERE name = 'settings');
	set_ jsonb := set_text::jsonb;
BEGIN
	RETURN 'S3BRIDGE_SETTINGS=' || {s}._sh(translate(encode(convert_to(set_text, 'UTF8'), 'base64'), E'\n', ''))
		|| ' S3BRIDGE_INSTANCE=' || {s}._sh(current_database()) || ' '
		|| CASE WHEN coalesce(set_->>'credentials_file', '') <> '' THEN 'AWS_SHARED_CREDENTIALS_FILE=' || {s}._sh(set_->>'credentials_file') || ' ' ELSE '' END
		|| {s}._sh(set_->>'binary') || ' s3-cat'
		|| CASE WHEN coalesce(region, '') <> '' THEN ' --region ' || {s}._sh(region) ELSE '' END;
END $$
--;;
-- _import_probe runs the binary on this host as table_import_from_s3 does
-- (the server's OS user, its environment) and returns what it answers for
-- one object: {"size": N} or {"error": …, "sqlstate": …}. s3bridge check
-- asks it for an object that doesn't exist: "not found" (58P01) means the
-- whole path works (binary, endpoint, credentials, policy).
CREATE OR REPLACE FUNCTION {s}._import_probe(bucket text, file_path text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF coalesce((SELECT value::jsonb->>'binary' FROM {s}.settings WHERE name = 'settings'), '') = '' THEN
		RETURN jsonb_build_object('error', 'no s3bridge binary is set for this instance (attach --binary PATH)', 'sqlstate', '55000');
	END IF;
	RETURN {s}._s3cat_line({s}._s3cat_cmd(NULL) || ' --size ' || {s}._sh('s3://' || bucket || '/' || file_path));
EXCEPTION WHEN external_routine_exception THEN
	RETURN jsonb_build_object('error', 'could not run the s3bridge binary on the database host: ' || SQLERRM, 'sqlstate', SQLSTATE);
END $$
--;;
CREATE OR REPLACE FUNCTION {s}._import(rel regclass, table_name text, column_list text, options text, bucket text, file_path text, region text)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	set_text text := (SELECT value FROM {s}.settings WHERE name = 'settings');
	set_ jsonb := set_text::jsonb;
	-- The agent names the instance by its tasks' database_name, which is
	-- current_database() for the task rows this function and _enqueue write.
	instance text := current_database();
	uri text := 's3://' || bucket || '/' || file_path;
	token text := gen_random_uuid()::text;
	cmd text;
	cols text := '';
	col text;
	n bigint;
	size bigint;
	probe jsonb;
	det text;
	st text;
	msg text;
	hint text;
	ctx text;
	prog text;
	started timestamptz := clock_timestamp();
BEGIN
	IF NOT has_table_privilege(session_user, rel, 'INSERT') THEN
		RAISE EXCEPTION 'permission denied for table %', rel USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF coalesce(set_->>'binary', '') = '' THEN
		RAISE EXCEPTION 'no s3bridge binary is set for this instance (attach --binary PATH)';
	END IF;
	FOREACH col IN ARRAY coalesce(string_to_array(nullif(btrim(column_list, ' ()'), ''), ','), '{}'::text[]) LOOP
		col := btrim(col, ' "');
		IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = rel AND attname = col AND attnum > 0 AND NOT attisdropped) THEN
			RAISE EXCEPTION 'table % has no column %', rel, quote_ident(col) USING ERRCODE = 'undefined_column';
		END IF;
		cols := cols || CASE WHEN cols = '' THEN '' ELSE ', ' END || quote_ident(col);
	END LOOP;
	-- s3-cat reads as the agent's loads do: it builds the same instance
	-- policy guard and LOAD store from the instance's settings and name,
	-- passed from the settings table, never from the caller. The caller's
	-- region only tells where the bucket is.
	cmd := {s}._s3cat_cmd(region);
	-- The probe checks the policy and the object before any row moves, and
	-- answers with the size or the reason, which is raised here.
	BEGIN
		probe := {s}._s3cat_line(cmd || ' --size ' || {s}._sh(uri));
	EXCEPTION WHEN external_routine_exception THEN
		GET STACKED DIAGNOSTICS det = PG_EXCEPTION_DETAIL;
		RAISE EXCEPTION 'could not run the s3bridge binary % on the database host', set_->>'binary'
			USING DETAIL = det, HINT = 'attach --binary PATH names it; the database server''s OS user must be able to run it',
			ERRCODE = 'external_routine_exception';
	END;
	IF probe IS NULL THEN
		RAISE EXCEPTION 'the s3bridge binary % on the database host printed nothing for %', set_->>'binary', uri
			USING ERRCODE = 'external_routine_exception';
	END IF;
	PERFORM {s}._raise_s3cat(probe);
	size := (probe->>'size')::bigint;
	-- A failure while streaming ends the program, which records why under
	-- token before it exits, so before COPY sees the end of its input. COPY
	-- then fails as "program failed", or on the partial last line it was
	-- sent: either way the recorded reason is raised. Without one, the error
	-- is COPY's own (bad input, which stops the program without a record).
	BEGIN
		EXECUTE format('COPY %s %s FROM PROGRAM %L %s', rel, CASE WHEN cols = '' THEN '' ELSE '(' || cols || ')' END,
			cmd || ' --error-file ' || {s}._sh(token) || ' ' || {s}._sh(uri), {s}._copy_options(options));
		GET DIAGNOSTICS n = ROW_COUNT;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
			hint = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT;
		PERFORM {s}._raise_s3cat({s}._s3cat_line({s}._sh(set_->>'binary') || ' s3-cat --error-of ' || {s}._sh(token)));
		-- COPY's own error (bad input), raised again without its context,
		-- which quotes the COPY statement and so the command line; the
		-- line and column it names ("COPY t, line 3, column id: …") are
		-- kept in the detail.
		prog := cmd || ' --error-file ' || {s}._sh(token) || ' ' || {s}._sh(uri);
		det := concat_ws(E'\n', nullif({s}._scrubbed(det, prog), ''), substring(ctx from '^(COPY [^\n]*)'));
		IF coalesce(hint, '') = '' THEN
			RAISE EXCEPTION USING ERRCODE = st, MESSAGE = {s}._scrubbed(msg, prog), DETAIL = det;
		END IF;
		RAISE EXCEPTION USING ERRCODE = st, MESSAGE = {s}._scrubbed(msg, prog), DETAIL = det, HINT = {s}._scrubbed(hint, prog);
	END;
	INSERT INTO {s}.tasks (task_type, database_name, lifecycle, percent_complete, task_info, created_at, last_updated,
		started_at, finished_at, s3_object_arn, task_metadata, agent_id, rows_processed, files_processed, bytes_processed)
	VALUES ('LOAD_FROM_S3', current_database(), 'SUCCESS', 100,
		format('%s rows imported into relation "%s" from file %s of %s bytes', n, table_name, file_path, size),
		started, clock_timestamp(), started, clock_timestamp(), 'arn:aws:s3:::' || bucket || '/' || file_path,
		jsonb_build_object('table', rel::text, 'column_list', column_list, 'options', options, 'uri', uri, 'caller', session_user),
		'postgres backend ' || pg_backend_pid(), n, 1, size);
	INSERT INTO {s}.load_history (task_id, load_prefix, file_name, etag, bytes_loaded, rows_loaded, load_timestamp)
	VALUES (currval(pg_get_serial_sequence('{s}.tasks', 'task_id')), uri, uri, NULL, size, n, clock_timestamp());
	RETURN format('%s rows imported into relation "%s" from file %s of %s bytes', n, table_name, file_path, size);
END $$
--;;
-- The public entry points resolve the table with the caller's search_path
-- and check the caller's INSERT right before handing over to _import.
CREATE OR REPLACE FUNCTION {s}.table_import_from_s3(table_name text, column_list text, options text,
	bucket text, file_path text, region text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	IF NOT has_table_privilege(table_name::regclass, 'INSERT') THEN
		RAISE EXCEPTION 'permission denied for table %', table_name USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN {s}._import(table_name::regclass, table_name, column_list, options, bucket, file_path, region);
END $$
--;;
CREATE OR REPLACE FUNCTION {s}.table_import_from_s3(table_name text, column_list text, options text, s3_info {s}._s3_uri_1)
RETURNS text LANGUAGE sql AS $$
	SELECT {s}.table_import_from_s3($1, $2, $3, ($4).bucket, ($4).file_path, ($4).region)
$$
--;;
REVOKE EXECUTE ON FUNCTION {s}._import(regclass, text, text, text, text, text, text), {s}._copy_options(text), {s}._sh(text),
	{s}._s3cat_line(text), {s}._raise_s3cat(jsonb), {s}._s3cat_cmd(text), {s}._import_probe(text, text),
	{s}.table_import_from_s3(text, text, text, text, text, text), {s}.table_import_from_s3(text, text, text, {s}._s3_uri_1) FROM PUBLIC
--;;
GRANT EXECUTE ON FUNCTION {s}._import(regclass, text, text, text, text, text, text), {s}.create_s3_uri(text, text, text),
	{s}.table_import_from_s3(text, text, text, text, text, text), {s}.table_import_from_s3(text, text, text, {s}._s3_uri_1)
	TO s3bridge_load
--;;
GRANT USAGE ON TYPE {s}._s3_uri_1 TO s3bridge_load, s3bridge_export
