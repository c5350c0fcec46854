-- What the procedures that wait for an agent (load_data_from_s3,
-- select_into_outfile_s3) share: they fail at once when no agent serves
-- the instance, and give up on a task no agent started within the
-- instance's pickup timeout, cancelling it so it never runs later.
--
-- _agent_missing is NULL when an agent serves this server, else why not:
-- this server is a copy of the attached one (a replica, a restore), or no
-- agent has beaten within the last 10 s (agents beat every 2 s).
DROP FUNCTION IF EXISTS {s}.`_agent_missing`
--;;
CREATE FUNCTION {s}.`_agent_missing`()
RETURNS VARCHAR(512) READS SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_attached VARCHAR(64) DEFAULT (SELECT value FROM {s}.`settings` WHERE name = 'server_id');
	DECLARE v_alive DATETIME(6) DEFAULT (SELECT MAX(last_seen) FROM {s}.`agents` WHERE stopped_at IS NULL);
	DECLARE v_last DATETIME(6) DEFAULT (SELECT MAX(last_seen) FROM {s}.`agents`);
	DECLARE v_db VARCHAR(255) DEFAULT (SELECT value FROM {s}.`settings` WHERE name = 'database_name');
	IF v_attached IS NOT NULL AND v_attached <> CAST(@@server_id AS CHAR) THEN
		RETURN CONCAT('this server (server_id ', @@server_id, ') is a copy of the attached one (server_id ', v_attached,
			'): s3bridge serves only the server it was attached to (if this one is the primary now, attach it again)');
	END IF;
	IF v_alive IS NULL OR v_alive < UTC_TIMESTAMP(6) - INTERVAL 10 SECOND THEN
		-- DATABASE() in a routine is the routine's: the s3bridge schema.
		RETURN CONCAT('no s3bridge agent is serving this instance (last seen ',
			COALESCE(CONCAT(DATE_FORMAT(v_last, '%Y-%m-%d %H:%i:%s'), ' UTC'), 'never'),
			'); start one with: s3bridge agent --db mysql://…/', COALESCE(v_db, ''),
			IF(DATABASE() = 's3bridge', '', CONCAT('?s3bridge_schema=', DATABASE())));
	END IF;
	RETURN NULL;
END
--;;
-- _poll: the state of one of the session's tasks as _task_state gives it,
-- plus "timed_out": 1 when no agent started it within the pickup
-- timeout (settings pickup_timeout_seconds, default 30), in which case it
-- has just been cancelled. It also beats for an export's caller at most
-- once a second, and forgets that heartbeat when the task is over.
DROP PROCEDURE IF EXISTS {s}.`_poll`
--;;
CREATE PROCEDURE {s}.`_poll`(IN p_task_id BIGINT, OUT p_state LONGTEXT)
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_state VARCHAR(20);
	DECLARE v_queued DATETIME(6);
	DECLARE v_pickup INT DEFAULT (SELECT COALESCE(NULLIF(CAST(JSON_VALUE(value, '$.pickup_timeout_seconds') AS SIGNED), 0), 30)
		FROM {s}.`settings` WHERE name = 'settings');
	DECLARE v_timed_out BOOLEAN DEFAULT FALSE;
	-- A CREATED task's last_updated is when it was queued: enqueued, or
	-- put back by an agent that stopped.
	SELECT lifecycle, last_updated INTO v_state, v_queued FROM {s}.`tasks` WHERE task_id = p_task_id AND {s}.`_mine`(owner);
	-- The updates name the task alone: _mine (USER()) would be evaluated
	-- again by a replica replaying a statement-format log.
	IF v_state IS NOT NULL THEN
		UPDATE {s}.`export_waits` SET seen_at = UTC_TIMESTAMP(6)
		WHERE task_id = p_task_id AND seen_at < UTC_TIMESTAMP(6) - INTERVAL 1 SECOND;
	END IF;
	IF v_state = 'CREATED' AND v_queued < UTC_TIMESTAMP(6) - INTERVAL COALESCE(v_pickup, 30) SECOND THEN
		-- Only while still CREATED: an agent may take it this instant.
		UPDATE {s}.`tasks` SET lifecycle = 'CANCELLED', error_code = 'cancelled',
			task_info = CONCAT('cancelled: no agent started it within ', COALESCE(v_pickup, 30), ' s'),
			finished_at = UTC_TIMESTAMP(6), last_updated = UTC_TIMESTAMP(6)
		WHERE task_id = p_task_id AND lifecycle = 'CREATED';
		SET v_timed_out = ROW_COUNT() > 0;
	END IF;
	SET p_state = JSON_SET({s}.`_task_state`(p_task_id), '$.timed_out', IF(v_timed_out, 1, 0));
	IF JSON_VALUE(p_state, '$.lifecycle') IN ('SUCCESS', 'ERROR', 'CANCELLED') THEN
		DELETE FROM {s}.`export_waits` WHERE task_id = p_task_id;
	END IF;
END
--;;
GRANT EXECUTE ON FUNCTION {s}.`_agent_missing` TO s3bridge_load, s3bridge_export
--;;
GRANT EXECUTE ON PROCEDURE {s}.`_poll` TO s3bridge_load, s3bridge_export
--;;
-- _wait polls task p_task_id until it is final and returns its last state
-- (_poll's JSON), committing after each poll so the caller's session sees
-- the agent's commits. A killed or timed-out SLEEP returns 1 without an
-- error: the wait stops then, and the agent, finding the caller's session
-- gone, stops the task.
DROP PROCEDURE IF EXISTS {s}.`_wait`
--;;
CREATE PROCEDURE {s}.`_wait`(IN p_task_id BIGINT, IN p_routine VARCHAR(64), OUT p_poll LONGTEXT)
MODIFIES SQL DATA SQL SECURITY INVOKER
BEGIN
	DECLARE v_msg VARCHAR(255);
	wait_loop: LOOP
		IF SLEEP(0.02) = 1 THEN
			SET v_msg = CONCAT(p_routine, ' interrupted; its task stops too');
			SIGNAL SQLSTATE '70100' SET MESSAGE_TEXT = v_msg;
		END IF;
		CALL {s}.`_poll`(p_task_id, p_poll);
		COMMIT;
		IF JSON_VALUE(p_poll, '$.lifecycle') IN ('SUCCESS', 'ERROR', 'CANCELLED') THEN
			LEAVE wait_loop;
		END IF;
	END LOOP;
END
--;;
GRANT EXECUTE ON PROCEDURE {s}.`_wait` TO s3bridge_load, s3bridge_export
