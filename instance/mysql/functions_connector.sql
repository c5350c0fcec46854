-- Stored S3 import connectors from SQL (issue 9). Installed after
-- functions.sql and the tasks' added columns (connector, scheduled_at,
-- owner, rows_processed, files_processed), which these read.
--
-- _connector_run queues a run of the stored connector p_name, the task
-- `s3bridge connector run NAME` queues: IMPORT_FROM_S3 with the run's
-- parameters the connector row keeps (task_metadata, s3_object_arn), so
-- SQL never parses the YAML. It is owned by the session's login user, so
-- task_status shows it to the caller; the owner is read into a variable
-- first, for a statement-format binary log (see _enqueue). A procedure,
-- not a function: it writes, and the binary log may be on.
DROP PROCEDURE IF EXISTS {s}.`_connector_run`
--;;
CREATE PROCEDURE {s}.`_connector_run`(IN p_name VARCHAR(190), OUT p_task_id BIGINT)
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_owner VARCHAR(128) DEFAULT SUBSTRING_INDEX(USER(), '@', 1);
	DECLARE v_msg VARCHAR(255);
	INSERT INTO {s}.`tasks` (task_type, database_name, lifecycle, created_at, last_updated,
		s3_object_arn, overwrite_file, task_metadata, owner, connector)
	SELECT 'IMPORT_FROM_S3', (SELECT value FROM {s}.`settings` WHERE name = 'database_name'), 'CREATED',
		UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), c.s3_object_arn, 0, c.task_metadata, v_owner, c.name
	FROM {s}.`connectors` c WHERE c.name = CONVERT(p_name USING utf8mb4) COLLATE utf8mb4_bin;
	IF ROW_COUNT() = 0 THEN
		SET v_msg = CONCAT('connector ', COALESCE(p_name, 'NULL'), ' does not exist');
		SIGNAL SQLSTATE '42000' SET MESSAGE_TEXT = v_msg;
	END IF;
	SET p_task_id = LAST_INSERT_ID();
END
--;;
-- connector_run(name): CALL s3bridge.connector_run('events') returns the
-- run's task id as a one-row result (task_id).
DROP PROCEDURE IF EXISTS {s}.`connector_run`
--;;
CREATE PROCEDURE {s}.`connector_run`(IN p_name VARCHAR(190))
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_connector_run`(p_name, v_id);
	SELECT v_id AS task_id;
END
--;;
-- connector_history: the connectors' runs the caller queued, as `s3bridge
-- connector history` shows them. Like task_status, it shows a login user
-- only its own (_mine): the s3bridge schema is server-wide, and a run's
-- task names the table it loads. Scheduled runs belong to the agent's
-- account; the CLI shows every run. Duration is in seconds, NULL until the
-- run ends; Scheduled is NULL for a run started by hand.
DROP VIEW IF EXISTS {s}.`connector_history`
--;;
CREATE SQL SECURITY DEFINER VIEW {s}.`connector_history` AS
SELECT connector AS `Connector`, task_id AS `JobID`, lifecycle AS `Status`,
	rows_processed AS `Records`, files_processed AS `Files`,
	CONCAT(IF(COALESCE(JSON_VALUE(task_metadata, '$.schema'), '') <> '', CONCAT(JSON_VALUE(task_metadata, '$.schema'), '.'), ''),
		JSON_VALUE(task_metadata, '$.table')) AS `Table`,
	scheduled_at AS `Scheduled`, started_at AS `Started`,
	TIMESTAMPDIFF(MICROSECOND, started_at, finished_at) / 1000000 AS `Duration`
FROM {s}.`tasks` WHERE connector IS NOT NULL AND {s}.`_mine`(owner)
--;;
GRANT EXECUTE ON PROCEDURE {s}.`connector_run` TO s3bridge_load
--;;
GRANT SELECT ON {s}.`connector_history` TO s3bridge_load
