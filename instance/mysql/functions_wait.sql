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
-- plus "timed_out": 1 when no agent started it within the pickup timeout,
-- in which case it has just been cancelled. The pickup timeout is the
-- session's @s3bridge_pickup_timeout (seconds) when set, else the
-- instance's (settings pickup_timeout_seconds, default 30).
--
-- "raise" is an error for _wait to raise once this poll's changes are
-- committed: @s3bridge_pickup_timeout is not a positive number of seconds
-- (the task, if no agent took it yet, is cancelled), or the agent running
-- the task died (its lease ran out) and no live agent serves the instance
-- to take it over (the task has just been cancelled; _agent_missing's
-- message). That cancel is guarded on the lease being still expired, so
-- an agent that took the task over meanwhile keeps it.
--
-- It also beats for an export's caller at most once a second, and forgets
-- that heartbeat when the task is over.
DROP PROCEDURE IF EXISTS {s}.`_poll`
--;;
CREATE PROCEDURE {s}.`_poll`(IN p_task_id BIGINT, OUT p_state LONGTEXT)
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_state VARCHAR(20);
	DECLARE v_queued DATETIME(6);
	DECLARE v_lease DATETIME(6);
	DECLARE v_session VARCHAR(64) DEFAULT LEFT(CAST(@s3bridge_pickup_timeout AS CHAR), 64);
	DECLARE v_pickup DECIMAL(12,3) DEFAULT (SELECT COALESCE(NULLIF(CAST(JSON_VALUE(value, '$.pickup_timeout_seconds') AS SIGNED), 0), 30)
		FROM {s}.`settings` WHERE name = 'settings');
	DECLARE v_timed_out BOOLEAN DEFAULT FALSE;
	DECLARE v_raise VARCHAR(512);
	-- A CREATED task's last_updated is when it was queued: enqueued, or
	-- put back by an agent that stopped.
	SELECT lifecycle, last_updated, lease_until INTO v_state, v_queued, v_lease
	FROM {s}.`tasks` WHERE task_id = p_task_id AND {s}.`_mine`(owner);
	IF v_session IS NOT NULL THEN
		IF v_session REGEXP '^[0-9]{1,9}([.][0-9]{1,3})?$' AND CAST(v_session AS DECIMAL(12,3)) > 0 THEN
			SET v_pickup = CAST(v_session AS DECIMAL(12,3));
		ELSE
			SET v_raise = LEFT(CONCAT('@s3bridge_pickup_timeout ''', v_session,
				''': want a positive number of seconds, such as 5 or 2.5'), 512);
		END IF;
	END IF;
	SET v_pickup = COALESCE(v_pickup, 30);
	-- The updates name the task alone: _mine (USER()) would be evaluated
	-- again by a replica replaying a statement-format log.
	IF v_state IS NOT NULL THEN
		UPDATE {s}.`export_waits` SET seen_at = UTC_TIMESTAMP(6)
		WHERE task_id = p_task_id AND seen_at < UTC_TIMESTAMP(6) - INTERVAL 1 SECOND;
	END IF;
	IF v_state = 'CREATED' AND v_raise IS NOT NULL THEN
		UPDATE {s}.`tasks` SET lifecycle = 'CANCELLED', error_code = 'cancelled',
			task_info = CONCAT('cancelled: ', v_raise), finished_at = UTC_TIMESTAMP(6), last_updated = UTC_TIMESTAMP(6)
		WHERE task_id = p_task_id AND lifecycle = 'CREATED';
	ELSEIF v_state = 'CREATED' AND v_queued < UTC_TIMESTAMP(6) - INTERVAL v_pickup SECOND THEN
		-- Only while still CREATED: an agent may take it this instant.
		UPDATE {s}.`tasks` SET lifecycle = 'CANCELLED', error_code = 'cancelled',
			task_info = CONCAT('cancelled: no agent started it within ',
				TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST(v_pickup AS CHAR))), ' s'),
			finished_at = UTC_TIMESTAMP(6), last_updated = UTC_TIMESTAMP(6)
		WHERE task_id = p_task_id AND lifecycle = 'CREATED';
		SET v_timed_out = ROW_COUNT() > 0;
	ELSEIF v_state IN ('IN_PROGRESS', 'CANCEL_REQUESTED') AND v_lease < UTC_TIMESTAMP(6) AND v_raise IS NULL THEN
		SET v_raise = {s}.`_agent_missing`();
		IF v_raise IS NOT NULL THEN
			UPDATE {s}.`tasks` SET lifecycle = 'CANCELLED', error_code = 'cancelled',
				task_info = CONCAT('cancelled: the agent running it stopped, and ', v_raise),
				finished_at = UTC_TIMESTAMP(6), last_updated = UTC_TIMESTAMP(6), lease_until = NULL
			WHERE task_id = p_task_id AND lifecycle IN ('IN_PROGRESS', 'CANCEL_REQUESTED') AND lease_until < UTC_TIMESTAMP(6);
			IF ROW_COUNT() = 0 THEN
				SET v_raise = NULL; -- taken over meanwhile: the next poll sees it
			END IF;
		END IF;
	END IF;
	SET p_state = JSON_SET({s}.`_task_state`(p_task_id), '$.timed_out', IF(v_timed_out, 1, 0));
	IF v_raise IS NOT NULL THEN
		SET p_state = JSON_SET(p_state, '$.raise', v_raise);
	END IF;
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
-- the agent's commits, and raising the error a poll asks for (after the
-- commit, so that its cancel stands). A killed or timed-out SLEEP (KILL
-- QUERY, max_statement_time) returns 1 without an error: the wait stops
-- then, and the agent, finding the caller's session no longer running a
-- statement, stops the task.
DROP PROCEDURE IF EXISTS {s}.`_wait`
--;;
CREATE PROCEDURE {s}.`_wait`(IN p_task_id BIGINT, IN p_routine VARCHAR(64), OUT p_poll LONGTEXT)
MODIFIES SQL DATA SQL SECURITY INVOKER
BEGIN
	DECLARE v_msg VARCHAR(512);
	wait_loop: LOOP
		IF SLEEP(0.02) = 1 THEN
			SET v_msg = CONCAT(p_routine, ' interrupted; its task stops too');
			SIGNAL SQLSTATE '70100' SET MESSAGE_TEXT = v_msg;
		END IF;
		CALL {s}.`_poll`(p_task_id, p_poll);
		COMMIT;
		SET v_msg = JSON_VALUE(p_poll, '$.raise');
		IF v_msg IS NOT NULL THEN
			SIGNAL SQLSTATE 'HY000' SET MESSAGE_TEXT = v_msg;
		END IF;
		IF JSON_VALUE(p_poll, '$.lifecycle') IN ('SUCCESS', 'ERROR', 'CANCELLED') THEN
			LEAVE wait_loop;
		END IF;
	END LOOP;
END
--;;
GRANT EXECUTE ON PROCEDURE {s}.`_wait` TO s3bridge_load, s3bridge_export
