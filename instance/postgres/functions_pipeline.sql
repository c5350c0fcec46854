-- pipeline_status (issue 10): every stored pipeline as `s3bridge pipeline
-- show` reports it: lag_seconds, rows_per_second and last_file are the
-- figures its agent last reported (NULL before an agent ran it). retained_wal_bytes and lag_bytes are known when the
-- pipeline's source is this database (its slot is here), NULL otherwise.
CREATE OR REPLACE VIEW {s}.pipeline_status AS
SELECT p.name, p.state, p.reason,
	CASE WHEN (p.config::jsonb->>'all_tables')::boolean THEN '(all)'
		ELSE array_to_string(ARRAY(SELECT jsonb_array_elements_text(p.config::jsonb->'tables')), ',') END AS tables,
	's3://' || (p.config::jsonb->>'bucket') || '/' || coalesce(p.config::jsonb->>'prefix', '') AS target,
	p.checkpoint_lsn, p.agent_id AS agent, p.lease_until, p.updated_at,
	nullif(p.stats, '')::jsonb->>'last_error' AS last_error,
	CASE WHEN NOT pg_catalog.pg_is_in_recovery() THEN
		pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.restart_lsn)::bigint END AS retained_wal_bytes,
	CASE WHEN NOT pg_catalog.pg_is_in_recovery() THEN
		pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint END AS lag_bytes,
	(nullif(p.stats, '')::jsonb->>'lag_seconds')::float8 AS lag_seconds,
	(nullif(p.stats, '')::jsonb->>'rows_per_second')::float8 AS rows_per_second,
	nullif(p.stats, '')::jsonb->>'last_file' AS last_file
FROM {s}.pipelines p
LEFT JOIN pg_catalog.pg_replication_slots s ON s.slot_name = 's3bridge_' || p.name AND s.database = current_database()
--;;
GRANT SELECT ON {s}.pipeline_status TO s3bridge_export
