CREATE DATABASE IF NOT EXISTS {s}
--;;
CREATE TABLE IF NOT EXISTS {s}.`settings` (name VARCHAR(64) PRIMARY KEY, value LONGTEXT NOT NULL) ENGINE=InnoDB
--;;
-- Agents serving the instance, each beating every few seconds: a
-- synchronous SQL call fails at once when none is alive.
CREATE TABLE IF NOT EXISTS {s}.`agents` (
	agent_id VARCHAR(128) PRIMARY KEY,
	host VARCHAR(255) NOT NULL,
	version VARCHAR(64) NOT NULL,
	started_at DATETIME(6) NOT NULL,
	last_seen DATETIME(6) NOT NULL) ENGINE=InnoDB
--;;
CREATE TABLE IF NOT EXISTS {s}.`tasks` (
	task_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	task_type VARCHAR(32) NOT NULL,
	database_name VARCHAR(255),
	lifecycle VARCHAR(20) NOT NULL DEFAULT 'CREATED',
	percent_complete INT NOT NULL DEFAULT 0,
	task_info TEXT,
	created_at DATETIME(6) NOT NULL,
	last_updated DATETIME(6) NOT NULL,
	started_at DATETIME(6) NULL,
	finished_at DATETIME(6) NULL,
	s3_object_arn TEXT,
	file_path TEXT,
	overwrite_file BOOLEAN NOT NULL DEFAULT 0,
	task_metadata LONGTEXT NOT NULL,
	agent_id VARCHAR(128),
	lease_until DATETIME(6) NULL,
	attempt BIGINT NOT NULL DEFAULT 0,
	rows_processed BIGINT NOT NULL DEFAULT 0,
	files_processed BIGINT NOT NULL DEFAULT 0,
	bytes_processed BIGINT NOT NULL DEFAULT 0,
	error_code VARCHAR(64) NULL,
	-- the session of a synchronous SQL call waiting for the task
	-- (CONNECTION_ID()); the task is cancelled when it ends
	caller_session VARCHAR(64) NULL,
	owner VARCHAR(128) DEFAULT (SUBSTRING_INDEX(USER(), '@', 1)),
	KEY tasks_lifecycle (lifecycle, task_id)) ENGINE=InnoDB
--;;
CREATE TABLE IF NOT EXISTS {s}.`task_log` (
	line_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	task_id BIGINT NOT NULL,
	logged_at DATETIME(6) NOT NULL,
	level VARCHAR(8) NOT NULL,
	message TEXT NOT NULL,
	KEY task_log_task (task_id, line_id)) ENGINE=InnoDB
--;;
CREATE TABLE IF NOT EXISTS {s}.`file_details` (
	task_id BIGINT NOT NULL,
	filepath TEXT NOT NULL,
	size_in_bytes BIGINT NOT NULL,
	last_modified_utc DATETIME(6) NOT NULL,
	is_directory BOOLEAN NOT NULL,
	KEY file_details_task (task_id)) ENGINE=InnoDB
--;;
CREATE TABLE IF NOT EXISTS {s}.`load_history` (
	task_id BIGINT NOT NULL,
	load_prefix TEXT NOT NULL,
	file_name TEXT NOT NULL,
	etag VARCHAR(128),
	bytes_loaded BIGINT NOT NULL,
	rows_loaded BIGINT NOT NULL,
	load_timestamp DATETIME(6) NOT NULL,
	KEY load_history_task (task_id)) ENGINE=InnoDB
--;;
-- One row per object an S3 import connector loaded, written in the load's
-- own transaction: the exactly-once record of its incremental runs. Keys
-- are bytes: S3 keys are case-sensitive and up to 1024 bytes.
CREATE TABLE IF NOT EXISTS {s}.`connector_ledger` (
	connector_name VARCHAR(190) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	object_key VARBINARY(1024) NOT NULL,
	etag VARCHAR(128) NOT NULL,
	size_bytes BIGINT NOT NULL,
	last_modified DATETIME(6) NOT NULL,
	task_id BIGINT NOT NULL,
	loaded_at DATETIME(6) NOT NULL,
	PRIMARY KEY (connector_name, object_key),
	KEY connector_ledger_modified (connector_name, last_modified)) ENGINE=InnoDB
--;;
-- Stored S3 import connectors and their schedules (issue 9). Configs hold
-- secrets only as references (${env:…}, ${file:…}). next_fire is the next
-- scheduled time; an agent takes a fire by moving it on (compare-and-set),
-- in the transaction that queues the run.
CREATE TABLE IF NOT EXISTS {s}.`connectors` (
	name VARCHAR(190) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
	cron VARCHAR(255) NOT NULL,
	timezone VARCHAR(64) NOT NULL DEFAULT 'UTC',
	delay_seconds BIGINT NOT NULL DEFAULT 0,
	schema_name VARCHAR(255) NOT NULL DEFAULT '',
	table_name VARCHAR(255) NOT NULL,
	config MEDIUMTEXT NOT NULL,
	task_metadata LONGTEXT NOT NULL,
	s3_object_arn TEXT NULL,
	auto_create BOOLEAN NOT NULL DEFAULT FALSE,
	created_at DATETIME(6) NOT NULL,
	updated_at DATETIME(6) NOT NULL,
	next_fire DATETIME(6) NULL) ENGINE=InnoDB
--;;
-- Stored pipelines (issue 10): config, state, the agent holding each by a
-- lease with an attempt number (the fencing token of its checkpoint), and
-- the checkpoint: the position up to which every change is in durable
-- objects. The source URL holds no password.
CREATE TABLE IF NOT EXISTS {s}.`pipelines` (
	name VARCHAR(190) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
	source TEXT NOT NULL,
	config MEDIUMTEXT NOT NULL,
	state VARCHAR(32) NOT NULL,
	reason TEXT NULL,
	agent_id VARCHAR(255) NULL,
	lease_until DATETIME(6) NULL,
	attempt BIGINT NOT NULL DEFAULT 0,
	checkpoint LONGTEXT NULL,
	checkpoint_lsn VARCHAR(64) NULL,
	stats TEXT NULL,
	created_at DATETIME(6) NOT NULL,
	updated_at DATETIME(6) NOT NULL) ENGINE=InnoDB
--;;
-- API tokens of s3bridge serve (issue 12): the SHA-256 of each token's
-- secret, never the secret; a revoked token's row is deleted.
CREATE TABLE IF NOT EXISTS {s}.`tokens` (
	name VARCHAR(190) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
	role VARCHAR(16) NOT NULL,
	token_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	created_at DATETIME(6) NOT NULL,
	expires_at DATETIME(6) NULL,
	UNIQUE KEY tokens_hash (token_hash)) ENGINE=InnoDB
--;;
-- The console's task list, newest first, a page at a time (issue 12).
CREATE INDEX IF NOT EXISTS tasks_created ON {s}.`tasks` (created_at, task_id)
