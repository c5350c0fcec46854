CREATE SCHEMA IF NOT EXISTS {s}
--;;
CREATE TABLE IF NOT EXISTS {s}.settings (name text PRIMARY KEY, value text NOT NULL)
--;;
-- Agents serving the instance, each beating every few seconds: a
-- synchronous SQL call fails at once when none is alive.
CREATE TABLE IF NOT EXISTS {s}.agents (
	agent_id text PRIMARY KEY,
	host text NOT NULL,
	version text NOT NULL,
	started_at timestamptz NOT NULL,
	last_seen timestamptz NOT NULL)
--;;
CREATE TABLE IF NOT EXISTS {s}.tasks (
	task_id bigserial PRIMARY KEY,
	task_type text NOT NULL,
	database_name text,
	lifecycle text NOT NULL DEFAULT 'CREATED'
		CHECK (lifecycle IN ('CREATED', 'IN_PROGRESS', 'SUCCESS', 'ERROR', 'CANCEL_REQUESTED', 'CANCELLED')),
	percent_complete integer NOT NULL DEFAULT 0,
	task_info text,
	created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	last_updated timestamptz NOT NULL DEFAULT clock_timestamp(),
	started_at timestamptz,
	finished_at timestamptz,
	s3_object_arn text,
	file_path text,
	overwrite_file boolean NOT NULL DEFAULT false,
	task_metadata jsonb NOT NULL DEFAULT '{}',
	agent_id text,
	lease_until timestamptz,
	attempt bigint NOT NULL DEFAULT 0,
	-- A finished task's Result: figures the SQL functions read as numbers,
	-- and the error code of a failure (a class such as access_denied, or
	-- the database's own SQLSTATE).
	rows_processed bigint NOT NULL DEFAULT 0,
	files_processed bigint NOT NULL DEFAULT 0,
	bytes_processed bigint NOT NULL DEFAULT 0,
	error_code text,
	-- the session of a synchronous SQL call waiting for the task
	-- ("pid@backend_start epoch"); the task is cancelled when it ends
	caller_session text)
--;;
CREATE INDEX IF NOT EXISTS tasks_lifecycle ON {s}.tasks (lifecycle, task_id)
--;;
CREATE TABLE IF NOT EXISTS {s}.task_log (
	line_id bigserial PRIMARY KEY,
	task_id bigint NOT NULL,
	logged_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	level text NOT NULL,
	message text NOT NULL)
--;;
CREATE INDEX IF NOT EXISTS task_log_task ON {s}.task_log (task_id, line_id)
--;;
CREATE TABLE IF NOT EXISTS {s}.file_details (
	task_id bigint NOT NULL,
	filepath text NOT NULL,
	size_in_bytes bigint NOT NULL,
	last_modified_utc timestamptz NOT NULL,
	is_directory boolean NOT NULL)
--;;
CREATE INDEX IF NOT EXISTS file_details_task ON {s}.file_details (task_id)
--;;
-- Wakes agents (LISTEN {channel}) when a task is enqueued, cancelled or
-- finishes, whoever changed it: the CLI, an agent, or a SQL function.
CREATE OR REPLACE FUNCTION {s}.notify_agents() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM pg_notify({channel}, NEW.task_id::text);
	RETURN NULL;
END $$
--;;
DROP TRIGGER IF EXISTS tasks_notify ON {s}.tasks
--;;
CREATE TRIGGER tasks_notify AFTER INSERT OR UPDATE OF lifecycle ON {s}.tasks
	FOR EACH ROW EXECUTE FUNCTION {s}.notify_agents()
--;;
-- One row per loaded file, like mysql.aurora_s3_load_history.
CREATE TABLE IF NOT EXISTS {s}.load_history (
	task_id bigint NOT NULL,
	load_prefix text NOT NULL,
	file_name text NOT NULL,
	etag text,
	bytes_loaded bigint NOT NULL,
	rows_loaded bigint NOT NULL,
	load_timestamp timestamptz NOT NULL)
--;;
-- One row per object an S3 import connector loaded, written in the load's
-- own transaction: the exactly-once record of its incremental runs.
CREATE TABLE IF NOT EXISTS {s}.connector_ledger (
	connector_name text NOT NULL,
	object_key text COLLATE "C" NOT NULL,
	etag text NOT NULL,
	size_bytes bigint NOT NULL,
	last_modified timestamptz NOT NULL,
	task_id bigint NOT NULL,
	loaded_at timestamptz NOT NULL,
	PRIMARY KEY (connector_name, object_key))
--;;
CREATE INDEX IF NOT EXISTS connector_ledger_modified ON {s}.connector_ledger (connector_name, last_modified)
--;;
-- Stored S3 import connectors and their schedules (issue 9). Configs hold
-- secrets only as references (${env:…}, ${file:…}). next_fire is the next
-- scheduled time; an agent takes a fire by moving it on (compare-and-set),
-- in the transaction that queues the run.
CREATE TABLE IF NOT EXISTS {s}.connectors (
	name text PRIMARY KEY,
	cron text NOT NULL,
	timezone text NOT NULL DEFAULT 'UTC',
	delay_seconds bigint NOT NULL DEFAULT 0,
	schema_name text NOT NULL DEFAULT '',
	table_name text NOT NULL,
	config text NOT NULL,
	task_metadata jsonb NOT NULL,
	s3_object_arn text,
	auto_create boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	next_fire timestamptz)
--;;
-- Stored pipelines (issue 10): config, state, the agent holding each by a
-- lease with an attempt number (the fencing token of its checkpoint), and
-- the checkpoint: the position up to which every change is in durable
-- objects. The source URL holds no password.
CREATE TABLE IF NOT EXISTS {s}.pipelines (
	name text PRIMARY KEY,
	source text NOT NULL,
	config text NOT NULL,
	state text NOT NULL,
	reason text,
	agent_id text,
	lease_until timestamptz,
	attempt bigint NOT NULL DEFAULT 0,
	checkpoint text,
	checkpoint_lsn text,
	stats text,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL)
--;;
-- API tokens of s3bridge serve (issue 12): the SHA-256 of each token's
-- secret, never the secret; a revoked token's row is deleted.
CREATE TABLE IF NOT EXISTS {s}.tokens (
	name text PRIMARY KEY,
	role text NOT NULL,
	token_hash text NOT NULL UNIQUE,
	created_at timestamptz NOT NULL,
	expires_at timestamptz)
--;;
-- The console's task list, newest first, a page at a time (issue 12).
CREATE INDEX IF NOT EXISTS tasks_created ON {s}.tasks (created_at, task_id)
