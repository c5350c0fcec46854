-- CALL s3bridge.load_data_from_s3('<Aurora statement>'): enqueues the load
-- and returns when an agent has finished it, raising its error as an SQL
-- error. It must run outside an explicit transaction: it waits for another
-- session's commit. It fails at once when no agent serves the instance,
-- and gives up (cancelling the task) when none starts it within the
-- pickup timeout.
--
-- SQL SECURITY INVOKER so that the request it inserts records the
-- caller's CURRENT_USER() and CURRENT_ROLE() (see requests in
-- functions.sql), and the agent loads through a view defined for that
-- account, so the load can write only what the caller could write with
-- INSERT itself (and DELETE, for REPLACE), and its SET expressions may
-- only compute from the row.
DROP PROCEDURE IF EXISTS {s}.`_load_enqueue`
--;;
-- _load_enqueue queues the load of request p_request, which must be this
-- session's, as the caller the server recorded in it. It takes no caller,
-- so granting it to the role gives nobody a way to name one. The task
-- records the caller's session (CONNECTION_ID(), which a DEFINER routine
-- can't change): the agent cancels it when that session ends.
CREATE PROCEDURE {s}.`_load_enqueue`(IN p_request BIGINT, OUT p_task_id BIGINT)
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_statement LONGTEXT;
	DECLARE v_caller VARCHAR(400);
	DECLARE v_role VARCHAR(200);
	CALL {s}.`_take_request`(p_request, 'load_data_from_s3', v_statement, v_caller, v_role);
	CALL {s}.`_enqueue`('LOAD_FROM_S3', NULL, NULL, 0, JSON_OBJECT('statement', v_statement, 'caller', v_caller,
		'caller_role', COALESCE(v_role, '')), CAST(CONNECTION_ID() AS CHAR), p_task_id);
END
--;;
DROP PROCEDURE IF EXISTS {s}.`load_data_from_s3`
--;;
CREATE PROCEDURE {s}.`load_data_from_s3`(IN p_statement LONGTEXT)
MODIFIES SQL DATA SQL SECURITY INVOKER
BEGIN
	DECLARE v_id BIGINT;
	DECLARE v_poll LONGTEXT;
	DECLARE v_state VARCHAR(20) DEFAULT 'CREATED';
	DECLARE v_info LONGTEXT;
	DECLARE v_code VARCHAR(64);
	DECLARE v_msg VARCHAR(512);
	IF @@in_transaction = 1 THEN
		SIGNAL SQLSTATE '25000' SET MESSAGE_TEXT = 'load_data_from_s3 waits for an agent to commit the load: call it outside an explicit transaction';
	END IF;
	SET v_msg = {s}.`_agent_missing`();
	IF v_msg IS NOT NULL THEN
		SIGNAL SQLSTATE 'HY000' SET MESSAGE_TEXT = v_msg;
	END IF;
	-- The server fills in who is asking (requests' defaults).
	INSERT INTO {s}.`requests` (statement) VALUES (p_statement);
	CALL {s}.`_load_enqueue`(LAST_INSERT_ID(), v_id);
	-- With autocommit off the task is still uncommitted; nothing else is in
	-- this transaction.
	COMMIT;
	CALL {s}.`_wait`(v_id, 'load_data_from_s3', v_poll);
	SET v_state = JSON_VALUE(v_poll, '$.lifecycle');
	SET v_info = JSON_VALUE(v_poll, '$.info');
	SET v_code = JSON_VALUE(v_poll, '$.error_code');
	IF v_state <> 'SUCCESS' THEN
		SET v_msg = LEFT(CONCAT('load task ', v_id, ' ', v_state, ': ', COALESCE(v_info, '')), 512);
		-- The error code, not the message, says access was denied.
		IF v_code IN ('access_denied', 'credentials_expired') THEN
			SIGNAL SQLSTATE '42000' SET MESSAGE_TEXT = v_msg;
		END IF;
		SIGNAL SQLSTATE 'HY000' SET MESSAGE_TEXT = v_msg;
	END IF;
	SELECT v_id AS task_id, v_info AS task_info;
END
--;;
GRANT EXECUTE ON PROCEDURE {s}.`load_data_from_s3` TO s3bridge_load
--;;
GRANT EXECUTE ON PROCEDURE {s}.`_load_enqueue` TO s3bridge_load
--;;
GRANT EXECUTE ON FUNCTION {s}.`_task_state` TO s3bridge_load
