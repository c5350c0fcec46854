-- The function forms of the entry points that enqueue or cancel, for
-- callers of earlier releases: SELECT s3bridge.upload_to_s3(…) returns the
-- task id. Each calls the procedure that does the work, as the procedure
-- form does.
--
-- Attach installs them only where the server allows a function that
-- writes: the binary log off, or log_bin_trust_function_creators = ON
-- (the DBA's choice, never made by s3bridge). Elsewhere it runs only the
-- DROPs, so none of an earlier release is left behind. A statement that
-- calls one is logged as that statement by a statement-format binary log
-- and evaluated again by replicas (row and mixed formats log its rows);
-- the procedure forms are logged statement by statement, with values.
DROP FUNCTION IF EXISTS {s}.`upload_to_s3`
--;;
CREATE FUNCTION {s}.`upload_to_s3`(p_bucket_name VARCHAR(255), p_prefix TEXT, p_s3_prefix TEXT, p_directory_name VARCHAR(128))
RETURNS BIGINT MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_upload_to_s3`(p_bucket_name, p_prefix, p_s3_prefix, p_directory_name, 0, v_id);
	RETURN v_id;
END
--;;
DROP FUNCTION IF EXISTS {s}.`upload_to_s3_compressed`
--;;
CREATE FUNCTION {s}.`upload_to_s3_compressed`(p_bucket_name VARCHAR(255), p_prefix TEXT, p_s3_prefix TEXT, p_directory_name VARCHAR(128), p_compression_level INT)
RETURNS BIGINT MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_upload_to_s3`(p_bucket_name, p_prefix, p_s3_prefix, p_directory_name, p_compression_level, v_id);
	RETURN v_id;
END
--;;
DROP FUNCTION IF EXISTS {s}.`download_from_s3`
--;;
CREATE FUNCTION {s}.`download_from_s3`(p_bucket_name VARCHAR(255), p_directory_name VARCHAR(128), p_s3_prefix TEXT)
RETURNS BIGINT MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_download_from_s3`(p_bucket_name, p_directory_name, p_s3_prefix, 'NONE', 'FALSE', v_id);
	RETURN v_id;
END
--;;
DROP FUNCTION IF EXISTS {s}.`download_from_s3_ext`
--;;
CREATE FUNCTION {s}.`download_from_s3_ext`(p_bucket_name VARCHAR(255), p_directory_name VARCHAR(128), p_s3_prefix TEXT,
	p_decompression_format VARCHAR(16), p_error_on_zero_downloads VARCHAR(8))
RETURNS BIGINT MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_download_from_s3`(p_bucket_name, p_directory_name, p_s3_prefix, p_decompression_format, p_error_on_zero_downloads, v_id);
	RETURN v_id;
END
--;;
DROP FUNCTION IF EXISTS {s}.`download_file_from_s3`
--;;
CREATE FUNCTION {s}.`download_file_from_s3`(s3_arn_of_file TEXT, file_path TEXT, overwrite_file INT)
RETURNS BIGINT MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_download_file_from_s3`(s3_arn_of_file, file_path, overwrite_file, v_id);
	RETURN v_id;
END
--;;
DROP FUNCTION IF EXISTS {s}.`upload_file_to_s3`
--;;
CREATE FUNCTION {s}.`upload_file_to_s3`(file_path TEXT, s3_arn_of_file TEXT, overwrite_file INT)
RETURNS BIGINT MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_upload_file_to_s3`(file_path, s3_arn_of_file, overwrite_file, v_id);
	RETURN v_id;
END
--;;
DROP FUNCTION IF EXISTS {s}.`gather_file_details`
--;;
CREATE FUNCTION {s}.`gather_file_details`()
RETURNS BIGINT MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_enqueue`('LIST_FILES_ON_DISK', NULL, NULL, 0, '{}', NULL, v_id);
	RETURN v_id;
END
--;;
DROP FUNCTION IF EXISTS {s}.`delete_from_filesystem`
--;;
CREATE FUNCTION {s}.`delete_from_filesystem`(file_path TEXT, force_delete INT)
RETURNS BIGINT MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	CALL {s}.`_delete_from_filesystem`(file_path, force_delete, v_id);
	RETURN v_id;
END
--;;
DROP FUNCTION IF EXISTS {s}.`cancel_task`
--;;
CREATE FUNCTION {s}.`cancel_task`(p_task_id BIGINT)
RETURNS VARCHAR(20) MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_state VARCHAR(20);
	CALL {s}.`_cancel_task`(p_task_id, v_state);
	RETURN v_state;
END
--;;
GRANT EXECUTE ON FUNCTION {s}.`upload_to_s3` TO s3bridge_transfer
--;;
GRANT EXECUTE ON FUNCTION {s}.`upload_to_s3_compressed` TO s3bridge_transfer
--;;
GRANT EXECUTE ON FUNCTION {s}.`download_from_s3` TO s3bridge_transfer
--;;
GRANT EXECUTE ON FUNCTION {s}.`download_from_s3_ext` TO s3bridge_transfer
--;;
GRANT EXECUTE ON FUNCTION {s}.`download_file_from_s3` TO s3bridge_transfer
--;;
GRANT EXECUTE ON FUNCTION {s}.`upload_file_to_s3` TO s3bridge_transfer
--;;
GRANT EXECUTE ON FUNCTION {s}.`gather_file_details` TO s3bridge_transfer
--;;
GRANT EXECUTE ON FUNCTION {s}.`delete_from_filesystem` TO s3bridge_transfer
--;;
GRANT EXECUTE ON FUNCTION {s}.`cancel_task` TO s3bridge_transfer, s3bridge_load, s3bridge_export
