-- Stored S3 import connectors from SQL (issue 9). Installed after
-- functions.sql and the tasks' added columns (connector, scheduled_at,
-- rows_processed, files_processed), which the view reads.
--
-- connector_run(name) queues a run of the stored connector NAME, the task
-- `s3bridge connector run NAME` queues: IMPORT_FROM_S3 with the run's
-- parameters the connector row keeps (task_metadata, s3_object_arn), so
-- SQL never parses the YAML. It returns the task id; an unknown name is an
-- error (no_data_found).
CREATE OR REPLACE FUNCTION {s}.connector_run(p_name text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_id bigint;
BEGIN
	INSERT INTO {s}.tasks (task_type, database_name, lifecycle, created_at, last_updated,
		s3_object_arn, overwrite_file, task_metadata, connector)
	SELECT 'IMPORT_FROM_S3', current_database(), 'CREATED', clock_timestamp(), clock_timestamp(),
		c.s3_object_arn, false, c.task_metadata, c.name
	FROM {s}.connectors c WHERE c.name = p_name
	RETURNING task_id INTO v_id;
	IF v_id IS NULL THEN
		RAISE EXCEPTION 'connector % does not exist', coalesce(p_name, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	RETURN v_id;
END
$$
--;;
-- connector_history: every connector's runs, as `s3bridge connector
-- history` shows them. Duration is in seconds, NULL until the run ends;
-- Scheduled is NULL for a run started by hand.
CREATE OR REPLACE VIEW {s}.connector_history AS
SELECT t.connector AS "Connector", t.task_id AS "JobID", t.lifecycle AS "Status",
	t.rows_processed AS "Records", t.files_processed AS "Files",
	CASE WHEN coalesce(t.task_metadata->>'schema', '') <> '' THEN (t.task_metadata->>'schema') || '.' ELSE '' END
		|| (t.task_metadata->>'table') AS "Table",
	t.scheduled_at AS "Scheduled", t.started_at AS "Started",
	extract(epoch FROM t.finished_at - t.started_at) AS "Duration"
FROM {s}.tasks t WHERE t.connector IS NOT NULL
--;;
GRANT EXECUTE ON FUNCTION {s}.connector_run(text) TO s3bridge_load
--;;
GRANT SELECT ON {s}.connector_history TO s3bridge_load
