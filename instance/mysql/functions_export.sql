-- Export: CALL select_into_outfile_s3('SELECT … INTO OUTFILE S3 …'), which
-- enqueues an EXPORT_TO_S3 task with Aurora's statement as text (the agent
-- parses it) and returns when an agent has run it, with its result or its
-- error. It must be called outside a transaction: the agent can only see a
-- committed task. The agent runs the query in its own read-only
-- transaction with the privileges of the calling account, or failing that
-- of its active role (through a view defined for the caller): rows the
-- caller has not committed are not exported.
--
-- Heartbeats of the calls waiting for an export: a killed or timed-out CALL
-- can run nothing more, so the agent stops an export whose caller stopped
-- beating.
CREATE TABLE IF NOT EXISTS {s}.`export_waits` (
	task_id BIGINT PRIMARY KEY,
	seen_at DATETIME(6) NOT NULL
)
--;;
DROP PROCEDURE IF EXISTS {s}.`_export_enqueue`
--;;
-- _export_enqueue queues the export of request p_request, which must be
-- this session's, as its caller: the server recorded who that is when
-- select_into_outfile_s3 inserted the request (see requests in
-- functions.sql); nothing here takes a caller. The task records the
-- caller's session (CONNECTION_ID()): the agent cancels it when that
-- session ends.
CREATE PROCEDURE {s}.`_export_enqueue`(IN p_request BIGINT, OUT p_task_id BIGINT)
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_statement LONGTEXT;
	DECLARE v_caller VARCHAR(400);
	DECLARE v_role VARCHAR(200);
	CALL {s}.`_take_request`(p_request, 'select_into_outfile_s3', v_statement, v_caller, v_role);
	DELETE FROM {s}.`export_waits` WHERE seen_at < UTC_TIMESTAMP(6) - INTERVAL 1 DAY;
	CALL {s}.`_enqueue`('EXPORT_TO_S3', NULL, NULL, 0, JSON_OBJECT('statement', v_statement, 'caller', v_caller,
		'caller_role', COALESCE(v_role, ''), 'naming', 'aurora', 'waiting', TRUE), CAST(CONNECTION_ID() AS CHAR), p_task_id);
	INSERT INTO {s}.`export_waits` (task_id, seen_at) VALUES (p_task_id, UTC_TIMESTAMP(6));
END
--;;
DROP PROCEDURE IF EXISTS {s}.`select_into_outfile_s3`
--;;
-- SQL SECURITY INVOKER so that the request it inserts records the
-- caller's CURRENT_USER() and CURRENT_ROLE() (see requests in
-- functions.sql). The result is one row: rows_uploaded, files_uploaded,
-- bytes_uploaded, the task's columns. A failed export is raised with
-- SQLSTATE 42000 when its error code says access was denied (the caller
-- lacked a privilege, or a policy refused), 70100 when it was cancelled,
-- HY000 otherwise (a task no agent started within the pickup timeout
-- included), and the task's own message. It fails at once when no agent
-- serves the instance.
CREATE PROCEDURE {s}.`select_into_outfile_s3`(IN p_statement LONGTEXT)
MODIFIES SQL DATA SQL SECURITY INVOKER
BEGIN
	DECLARE v_id BIGINT;
	DECLARE v_poll LONGTEXT;
	DECLARE v_state VARCHAR(20);
	DECLARE v_info LONGTEXT;
	DECLARE v_code VARCHAR(64);
	DECLARE v_msg VARCHAR(512);
	IF @@in_transaction THEN
		SIGNAL SQLSTATE '25000' SET MESSAGE_TEXT = 'select_into_outfile_s3 must be called outside a transaction: the agent only sees a committed export task';
	END IF;
	SET v_msg = {s}.`_agent_missing`();
	IF v_msg IS NOT NULL THEN
		SIGNAL SQLSTATE 'HY000' SET MESSAGE_TEXT = v_msg;
	END IF;
	-- The server fills in who is asking (requests' defaults).
	INSERT INTO {s}.`requests` (statement) VALUES (p_statement);
	CALL {s}.`_export_enqueue`(LAST_INSERT_ID(), v_id);
	-- With autocommit off the task is still uncommitted; nothing else is in
	-- this transaction.
	COMMIT;
	CALL {s}.`_wait`(v_id, 'select_into_outfile_s3', v_poll);
	SET v_state = JSON_VALUE(v_poll, '$.lifecycle');
	SET v_info = JSON_VALUE(v_poll, '$.info');
	SET v_code = JSON_VALUE(v_poll, '$.error_code');
	SET v_msg = LEFT(CONCAT('export task ', v_id, ': ', COALESCE(v_info, v_state)), 512);
	IF JSON_VALUE(v_poll, '$.timed_out') = 1 THEN
		SIGNAL SQLSTATE 'HY000' SET MESSAGE_TEXT = v_msg;
	ELSEIF v_state = 'CANCELLED' THEN
		SIGNAL SQLSTATE '70100' SET MESSAGE_TEXT = v_msg;
	ELSEIF v_state <> 'SUCCESS' AND v_code IN ('access_denied', 'credentials_expired') THEN
		SIGNAL SQLSTATE '42000' SET MESSAGE_TEXT = v_msg;
	ELSEIF v_state <> 'SUCCESS' THEN
		SIGNAL SQLSTATE 'HY000' SET MESSAGE_TEXT = v_msg;
	END IF;
	SELECT CAST(JSON_VALUE(v_poll, '$.rows') AS UNSIGNED) AS rows_uploaded,
		CAST(JSON_VALUE(v_poll, '$.files') AS UNSIGNED) AS files_uploaded,
		CAST(JSON_VALUE(v_poll, '$.bytes') AS UNSIGNED) AS bytes_uploaded;
END
--;;
-- MariaDB grants nothing on routines to PUBLIC (10.11 has no PUBLIC to
-- revoke from), so granting the role is all there is to do. The procedure
-- runs as its invoker, who needs the helpers too: _export_enqueue takes
-- no caller, so granting it lets nobody name one.
GRANT EXECUTE ON PROCEDURE {s}.`select_into_outfile_s3` TO s3bridge_export
--;;
GRANT EXECUTE ON PROCEDURE {s}.`_export_enqueue` TO s3bridge_export
