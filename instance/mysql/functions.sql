-- The SQL interface: RDS's procedures, taking RDS's parameters positionally
-- as MariaDB routines have no named or default parameters. SQL SECURITY
-- DEFINER so callers need EXECUTE, not rights on the tables. Times are UTC.
--
-- What changes data is a procedure: CALL s3bridge.upload_to_s3(…) returns
-- the task id as a one-row result, as RDS SQL Server's
-- exec msdb.dbo.rds_upload_to_s3 does. A server with the binary log on
-- refuses to create a function that writes (error 1418) unless its DBA
-- set log_bin_trust_function_creators, and rightly: such a function, called
-- from a statement logged as text, runs again on every replica. Procedures
-- are not logged as CALLs but statement by statement, with their variables
-- as values. Where the server allows it, function_forms.sql adds the
-- SELECT s3bridge.upload_to_s3(…) forms too. Functions that only read stay
-- functions, declared READS SQL DATA (none is DETERMINISTIC: they read
-- the session's user or the tables).
--
-- Each entry point is a procedure _name(…, OUT p_task_id) doing the work,
-- called by the procedure form (which returns the id as a result) and the
-- function form (which returns it).
--
-- Functions of earlier releases that write are procedures now.
DROP FUNCTION IF EXISTS {s}.`_enqueue`
--;;
DROP FUNCTION IF EXISTS {s}.`_load_enqueue`
--;;
DROP FUNCTION IF EXISTS {s}.`_export_enqueue`
--;;
DROP FUNCTION IF EXISTS {s}.`_export_poll`
--;;
-- _enqueue inserts a task owned by the session's login user. The owner is
-- read into a variable first, so that a statement-format binary log holds
-- it as a value rather than USER(), which a replica would evaluate as its
-- own replication thread. p_session is the caller's CONNECTION_ID() when a
-- synchronous call waits for the task: the agent cancels it when that
-- session ends.
DROP PROCEDURE IF EXISTS {s}.`_enqueue`
--;;
CREATE PROCEDURE {s}.`_enqueue`(IN p_type VARCHAR(32), IN p_arn TEXT, IN p_path TEXT, IN p_overwrite BOOLEAN,
	IN p_meta LONGTEXT, IN p_session VARCHAR(64), OUT p_task_id BIGINT)
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_owner VARCHAR(128) DEFAULT SUBSTRING_INDEX(USER(), '@', 1);
	INSERT INTO {s}.`tasks` (task_type, database_name, lifecycle, created_at, last_updated,
		s3_object_arn, file_path, overwrite_file, task_metadata, caller_session, owner)
	VALUES (p_type, (SELECT value FROM {s}.`settings` WHERE name = 'database_name'), 'CREATED',
		UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), p_arn, p_path, COALESCE(p_overwrite, 0), p_meta, p_session, v_owner);
	SET p_task_id = LAST_INSERT_ID();
END
--;;
-- _mine: whether the session may see task p_task_id through the SQL
-- interface. The s3bridge schema is server-wide, so a task belongs to the
-- login user that enqueued it (tasks.owner) and other users' tasks don't
-- exist for the interface: not in task_status, not in logs, not to cancel.
-- An administrator reads the tables or uses the CLI.
DROP FUNCTION IF EXISTS {s}.`_mine`
--;;
CREATE FUNCTION {s}.`_mine`(p_owner VARCHAR(128))
RETURNS BOOLEAN READS SQL DATA SQL SECURITY DEFINER
RETURN COALESCE(p_owner = SUBSTRING_INDEX(USER(), '@', 1), FALSE)
--;;
-- Who asks for a load or an export. The agent runs them with the
-- privileges of the caller's account (and role), so the caller's identity
-- must be the one the server itself picked for the session, never a value
-- the caller passes: a user logged in as u@127.0.0.1 could otherwise name
-- u@% (whose host pattern matches its own) and write what only u@% may.
-- A DEFINER routine can't read the caller's account (CURRENT_USER() there
-- is the definer's; USER() is the login name and client host, not the
-- account), and an INVOKER routine's arguments are the caller's to choose.
-- So the INVOKER entry point (load_data_from_s3, select_into_outfile_s3)
-- inserts its statement here and the server fills in the rest: the roles
-- may insert the statement column only, and the identity columns take
-- their defaults, evaluated in the caller's security context. Granted
-- nothing else on the table, a caller can neither write another identity
-- nor read or change a request. _take_request, which the enqueue routines
-- call as definer, hands a request over to the session that made it, once.
-- (A DEFINER routine or view that calls the entry point makes its
-- definer the caller, as SQL rights do; only an account with SET USER can
-- define one for another account.)
CREATE TABLE IF NOT EXISTS {s}.`requests` (
	request_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	statement LONGTEXT NULL,
	caller VARCHAR(400) NOT NULL DEFAULT (CURRENT_USER()),
	caller_role VARCHAR(200) NULL DEFAULT (CURRENT_ROLE()),
	caller_session BIGINT NOT NULL DEFAULT (CONNECTION_ID()),
	created_at DATETIME(6) NOT NULL DEFAULT (UTC_TIMESTAMP(6))) ENGINE=InnoDB
--;;
-- Releases before requests took the caller as an argument and checked it
-- against the session's host; that check is gone with the argument.
DROP FUNCTION IF EXISTS {s}.`_assert_caller`
--;;
-- _take_request returns and removes request p_request, refusing one this
-- session did not make (CONNECTION_ID() is the session's in a DEFINER
-- routine too). The values are read into variables, so that a
-- statement-format binary log holds them as values. Requests older than a
-- day were left by calls killed between their two statements: dropped.
DROP PROCEDURE IF EXISTS {s}.`_take_request`
--;;
CREATE PROCEDURE {s}.`_take_request`(IN p_request BIGINT, IN p_routine VARCHAR(64),
	OUT p_statement LONGTEXT, OUT p_caller VARCHAR(400), OUT p_role VARCHAR(200))
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_found BIGINT;
	DECLARE v_msg VARCHAR(255);
	SELECT request_id, statement, caller, caller_role INTO v_found, p_statement, p_caller, p_role
	FROM {s}.`requests` WHERE request_id = p_request AND caller_session = CONNECTION_ID() FOR UPDATE;
	IF v_found IS NULL THEN
		SET v_msg = CONCAT(p_routine, ': request ', COALESCE(p_request, 'NULL'), ' is not one this session made');
		SIGNAL SQLSTATE '42000' SET MESSAGE_TEXT = v_msg;
	END IF;
	DELETE FROM {s}.`requests` WHERE request_id = v_found OR created_at < UTC_TIMESTAMP(6) - INTERVAL 1 DAY;
END
--;;
-- _task_state: {"lifecycle": …, "info": …, "rows": …, "files": …,
-- "bytes": …, "error_code": …} of one of the session's tasks: the figures
-- and the error code are the task's columns.
DROP FUNCTION IF EXISTS {s}.`_task_state`
--;;
CREATE FUNCTION {s}.`_task_state`(p_task_id BIGINT)
RETURNS LONGTEXT READS SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_state LONGTEXT;
	-- Built from the row itself: routine variables would turn the
	-- figures into JSON strings.
	SELECT JSON_OBJECT('lifecycle', lifecycle, 'info', task_info, 'rows', rows_processed,
		'files', files_processed, 'bytes', bytes_processed, 'error_code', error_code)
	INTO v_state
	FROM {s}.`tasks` WHERE task_id = p_task_id AND {s}.`_mine`(owner);
	RETURN COALESCE(v_state, JSON_OBJECT('lifecycle', NULL, 'info', NULL));
END
--;;
DROP PROCEDURE IF EXISTS {s}.`_upload_to_s3`
--;;
CREATE PROCEDURE {s}.`_upload_to_s3`(IN p_bucket_name VARCHAR(255), IN p_prefix TEXT, IN p_s3_prefix TEXT,
	IN p_directory_name VARCHAR(128), IN p_compression_level INT, OUT p_task_id BIGINT)
MODIFIES SQL DATA SQL SECURITY DEFINER
CALL {s}.`_enqueue`('UPLOAD_TO_S3', CONCAT('arn:aws:s3:::', p_bucket_name, '/', COALESCE(p_s3_prefix, '')), NULL, 0,
	JSON_OBJECT('kind', 'directory', 'p_bucket_name', p_bucket_name, 'p_prefix', COALESCE(p_prefix, ''),
		'p_s3_prefix', COALESCE(p_s3_prefix, ''), 'p_directory_name', p_directory_name,
		'p_compression_level', COALESCE(p_compression_level, 0)), NULL, p_task_id)
--;;
DROP PROCEDURE IF EXISTS {s}.`_download_from_s3`
--;;
CREATE PROCEDURE {s}.`_download_from_s3`(IN p_bucket_name VARCHAR(255), IN p_directory_name VARCHAR(128), IN p_s3_prefix TEXT,
	IN p_decompression_format VARCHAR(16), IN p_error_on_zero_downloads VARCHAR(8), OUT p_task_id BIGINT)
MODIFIES SQL DATA SQL SECURITY DEFINER
CALL {s}.`_enqueue`('DOWNLOAD_FROM_S3', CONCAT('arn:aws:s3:::', p_bucket_name, '/', COALESCE(p_s3_prefix, '')), NULL, 0,
	JSON_OBJECT('kind', 'directory', 'p_bucket_name', p_bucket_name, 'p_directory_name', p_directory_name,
		'p_s3_prefix', COALESCE(p_s3_prefix, ''), 'p_decompression_format', COALESCE(p_decompression_format, 'NONE'),
		'p_error_on_zero_downloads', COALESCE(p_error_on_zero_downloads, 'FALSE')), NULL, p_task_id)
--;;
DROP PROCEDURE IF EXISTS {s}.`_download_file_from_s3`
--;;
CREATE PROCEDURE {s}.`_download_file_from_s3`(IN s3_arn_of_file TEXT, IN file_path TEXT, IN overwrite_file INT, OUT p_task_id BIGINT)
MODIFIES SQL DATA SQL SECURITY DEFINER
CALL {s}.`_enqueue`('DOWNLOAD_FROM_S3', s3_arn_of_file, file_path, COALESCE(overwrite_file, 0) = 1,
	JSON_OBJECT('kind', 'file', 's3_arn_of_file', s3_arn_of_file, 'file_path', COALESCE(file_path, ''),
		'overwrite_file', COALESCE(overwrite_file, 0)), NULL, p_task_id)
--;;
DROP PROCEDURE IF EXISTS {s}.`_upload_file_to_s3`
--;;
CREATE PROCEDURE {s}.`_upload_file_to_s3`(IN file_path TEXT, IN s3_arn_of_file TEXT, IN overwrite_file INT, OUT p_task_id BIGINT)
MODIFIES SQL DATA SQL SECURITY DEFINER
CALL {s}.`_enqueue`('UPLOAD_TO_S3', s3_arn_of_file, file_path, COALESCE(overwrite_file, 0) = 1,
	JSON_OBJECT('kind', 'file', 's3_arn_of_file', s3_arn_of_file, 'file_path', file_path,
		'overwrite_file', COALESCE(overwrite_file, 0)), NULL, p_task_id)
--;;
DROP PROCEDURE IF EXISTS {s}.`_delete_from_filesystem`
--;;
CREATE PROCEDURE {s}.`_delete_from_filesystem`(IN file_path TEXT, IN force_delete INT, OUT p_task_id BIGINT)
MODIFIES SQL DATA SQL SECURITY DEFINER
CALL {s}.`_enqueue`('DELETE_FILES_ON_DISK', NULL, file_path, 0,
	JSON_OBJECT('file_path', file_path, 'force_delete', COALESCE(force_delete, 0)), NULL, p_task_id)
--;;
DROP PROCEDURE IF EXISTS {s}.`_cancel_task`
--;;
CREATE PROCEDURE {s}.`_cancel_task`(IN p_task_id BIGINT, OUT p_lifecycle VARCHAR(20))
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_type VARCHAR(32);
	DECLARE v_state VARCHAR(20);
	DECLARE v_msg VARCHAR(255);
	SELECT task_type, lifecycle INTO v_type, v_state FROM {s}.`tasks` WHERE task_id = p_task_id AND {s}.`_mine`(owner) FOR UPDATE;
	IF v_state IS NULL THEN
		SET v_msg = CONCAT('task ', p_task_id, ' not found');
		SIGNAL SQLSTATE '02000' SET MESSAGE_TEXT = v_msg;
	END IF;
	-- The updates name the task alone: _mine (USER()) would be evaluated
	-- again by a replica replaying a statement-format log.
	IF v_state = 'CREATED' THEN
		UPDATE {s}.`tasks` SET lifecycle = 'CANCELLED', task_info = 'cancelled before it started',
			finished_at = UTC_TIMESTAMP(6), last_updated = UTC_TIMESTAMP(6) WHERE task_id = p_task_id;
		SET p_lifecycle = 'CANCELLED';
	ELSEIF v_state = 'IN_PROGRESS' THEN
		IF v_type IN ('LIST_FILES_ON_DISK', 'DELETE_FILES_ON_DISK') THEN
			SET v_msg = CONCAT('task ', p_task_id, ' is a ', v_type, ' task in progress: it cannot be cancelled');
			SIGNAL SQLSTATE '55000' SET MESSAGE_TEXT = v_msg;
		END IF;
		UPDATE {s}.`tasks` SET lifecycle = 'CANCEL_REQUESTED', last_updated = UTC_TIMESTAMP(6) WHERE task_id = p_task_id;
		SET p_lifecycle = 'CANCEL_REQUESTED';
	ELSEIF v_state = 'CANCEL_REQUESTED' THEN
		SET p_lifecycle = v_state;
	ELSE
		SET v_msg = CONCAT('task ', p_task_id, ' is ', v_state, ': it cannot be cancelled');
		SIGNAL SQLSTATE '55000' SET MESSAGE_TEXT = v_msg;
	END IF;
END
--;;
-- The procedure forms: CALL s3bridge.upload_to_s3('mybucket', '', 'dbfiles/',
-- 'DATA_PUMP_DIR') returns one row, task_id.
DROP PROCEDURE IF EXISTS {s}.`upload_to_s3`
--;;
CREATE PROCEDURE {s}.`upload_to_s3`(IN p_bucket_name VARCHAR(255), IN p_prefix TEXT, IN p_s3_prefix TEXT, IN p_directory_name VARCHAR(128))
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_upload_to_s3`(p_bucket_name, p_prefix, p_s3_prefix, p_directory_name, 0, v_id);
	SELECT v_id AS task_id;
END
--;;
DROP PROCEDURE IF EXISTS {s}.`upload_to_s3_compressed`
--;;
CREATE PROCEDURE {s}.`upload_to_s3_compressed`(IN p_bucket_name VARCHAR(255), IN p_prefix TEXT, IN p_s3_prefix TEXT,
	IN p_directory_name VARCHAR(128), IN p_compression_level INT)
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_upload_to_s3`(p_bucket_name, p_prefix, p_s3_prefix, p_directory_name, p_compression_level, v_id);
	SELECT v_id AS task_id;
END
--;;
DROP PROCEDURE IF EXISTS {s}.`download_from_s3`
--;;
CREATE PROCEDURE {s}.`download_from_s3`(IN p_bucket_name VARCHAR(255), IN p_directory_name VARCHAR(128), IN p_s3_prefix TEXT)
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_download_from_s3`(p_bucket_name, p_directory_name, p_s3_prefix, 'NONE', 'FALSE', v_id);
	SELECT v_id AS task_id;
END
--;;
DROP PROCEDURE IF EXISTS {s}.`download_from_s3_ext`
--;;
CREATE PROCEDURE {s}.`download_from_s3_ext`(IN p_bucket_name VARCHAR(255), IN p_directory_name VARCHAR(128), IN p_s3_prefix TEXT,
	IN p_decompression_format VARCHAR(16), IN p_error_on_zero_downloads VARCHAR(8))
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_download_from_s3`(p_bucket_name, p_directory_name, p_s3_prefix, p_decompression_format, p_error_on_zero_downloads, v_id);
	SELECT v_id AS task_id;
END
--;;
DROP PROCEDURE IF EXISTS {s}.`download_file_from_s3`
--;;
CREATE PROCEDURE {s}.`download_file_from_s3`(IN s3_arn_of_file TEXT, IN file_path TEXT, IN overwrite_file INT)
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_download_file_from_s3`(s3_arn_of_file, file_path, overwrite_file, v_id);
	SELECT v_id AS task_id;
END
--;;
DROP PROCEDURE IF EXISTS {s}.`upload_file_to_s3`
--;;
CREATE PROCEDURE {s}.`upload_file_to_s3`(IN file_path TEXT, IN s3_arn_of_file TEXT, IN overwrite_file INT)
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_upload_file_to_s3`(file_path, s3_arn_of_file, overwrite_file, v_id);
	SELECT v_id AS task_id;
END
--;;
DROP PROCEDURE IF EXISTS {s}.`gather_file_details`
--;;
CREATE PROCEDURE {s}.`gather_file_details`()
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_enqueue`('LIST_FILES_ON_DISK', NULL, NULL, 0, '{}', NULL, v_id);
	SELECT v_id AS task_id;
END
--;;
DROP PROCEDURE IF EXISTS {s}.`delete_from_filesystem`
--;;
CREATE PROCEDURE {s}.`delete_from_filesystem`(IN file_path TEXT, IN force_delete INT)
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_delete_from_filesystem`(file_path, force_delete, v_id);
	SELECT v_id AS task_id;
END
--;;
-- CALL cancel_task(42) returns one row, lifecycle: CANCELLED or
-- CANCEL_REQUESTED.
DROP PROCEDURE IF EXISTS {s}.`cancel_task`
--;;
CREATE PROCEDURE {s}.`cancel_task`(IN p_task_id BIGINT)
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_state VARCHAR(20);
	CALL {s}.`_cancel_task`(p_task_id, v_state);
	SELECT v_state AS lifecycle;
END
--;;
DROP PROCEDURE IF EXISTS {s}.`task_status`
--;;
CREATE PROCEDURE {s}.`task_status`(IN p_db VARCHAR(255), IN p_task_id BIGINT)
READS SQL DATA SQL SECURITY DEFINER
SELECT t.task_id, t.task_type, t.database_name, t.percent_complete,
	COALESCE(ROUND(TIMESTAMPDIFF(MICROSECOND, t.started_at, COALESCE(t.finished_at, UTC_TIMESTAMP(6))) / 60000000, 2), 0) AS duration_mins,
	t.lifecycle, t.task_info, t.last_updated, t.created_at, t.s3_object_arn, t.file_path AS filepath,
	t.overwrite_file, t.task_metadata
FROM {s}.`tasks` t
WHERE (COALESCE(p_task_id, 0) = 0 OR t.task_id = p_task_id) AND (p_db IS NULL OR t.database_name = p_db)
	AND {s}.`_mine`(t.owner)
ORDER BY t.task_id
--;;
DROP PROCEDURE IF EXISTS {s}.`read_task_log`
--;;
CREATE PROCEDURE {s}.`read_task_log`(IN p_task_id BIGINT)
READS SQL DATA SQL SECURITY DEFINER
SELECT CONCAT(DATE_FORMAT(l.logged_at, '%Y-%m-%d %H:%i:%s.'), LPAD(FLOOR(MICROSECOND(l.logged_at) / 1000), 3, '0'),
	' UTC [', RPAD(l.level, 5, ' '), '] ', l.message) AS `text`
FROM {s}.`task_log` l JOIN {s}.`tasks` t ON t.task_id = l.task_id
WHERE l.task_id = p_task_id AND {s}.`_mine`(t.owner) ORDER BY l.line_id
--;;
DROP PROCEDURE IF EXISTS {s}.`list_file_details`
--;;
CREATE PROCEDURE {s}.`list_file_details`(IN p_task_id BIGINT)
READS SQL DATA SQL SECURITY DEFINER
SELECT f.filepath, f.size_in_bytes, f.last_modified_utc, f.is_directory
FROM {s}.`file_details` f JOIN {s}.`tasks` t ON t.task_id = f.task_id
WHERE f.task_id = p_task_id AND {s}.`_mine`(t.owner) ORDER BY f.filepath
--;;
-- Grants: calling the interface needs one of these roles (or EXECUTE
-- granted directly), like Aurora's AWS_LOAD_S3_ACCESS.
CREATE ROLE IF NOT EXISTS s3bridge_transfer
--;;
CREATE ROLE IF NOT EXISTS s3bridge_load
--;;
CREATE ROLE IF NOT EXISTS s3bridge_export
--;;
GRANT EXECUTE ON PROCEDURE {s}.`upload_to_s3` TO s3bridge_transfer
--;;
GRANT EXECUTE ON PROCEDURE {s}.`upload_to_s3_compressed` TO s3bridge_transfer
--;;
GRANT EXECUTE ON PROCEDURE {s}.`download_from_s3` TO s3bridge_transfer
--;;
GRANT EXECUTE ON PROCEDURE {s}.`download_from_s3_ext` TO s3bridge_transfer
--;;
GRANT EXECUTE ON PROCEDURE {s}.`download_file_from_s3` TO s3bridge_transfer
--;;
GRANT EXECUTE ON PROCEDURE {s}.`upload_file_to_s3` TO s3bridge_transfer
--;;
GRANT EXECUTE ON PROCEDURE {s}.`gather_file_details` TO s3bridge_transfer
--;;
GRANT EXECUTE ON PROCEDURE {s}.`delete_from_filesystem` TO s3bridge_transfer
--;;
GRANT EXECUTE ON PROCEDURE {s}.`list_file_details` TO s3bridge_transfer
--;;
GRANT EXECUTE ON PROCEDURE {s}.`cancel_task` TO s3bridge_transfer, s3bridge_load, s3bridge_export
--;;
GRANT EXECUTE ON PROCEDURE {s}.`task_status` TO s3bridge_transfer, s3bridge_load, s3bridge_export
--;;
GRANT EXECUTE ON PROCEDURE {s}.`read_task_log` TO s3bridge_transfer, s3bridge_load, s3bridge_export
--;;
-- The statement column alone (see requests).
GRANT INSERT (statement) ON {s}.`requests` TO s3bridge_load, s3bridge_export
