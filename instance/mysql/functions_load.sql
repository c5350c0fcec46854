-- CALL s3bridge.load_data_from_s3('<Aurora statement>'): enqueues the load
-- and returns when an agent has finished it, raising its error as an SQL
-- error. It must run outside an explicit transaction: it waits for another
-- session's commit.
DROP PROCEDURE IF EXISTS {s}.`load_data_from_s3`
--;;
CREATE PROCEDURE {s}.`load_data_from_s3`(IN p_statement LONGTEXT)
MODIFIES SQL DATA SQL SECURITY DEFINER
BEGIN
	DECLARE v_id BIGINT;
	DECLARE v_state VARCHAR(20) DEFAULT 'CREATED';
	DECLARE v_info TEXT;
	DECLARE v_msg VARCHAR(500);
	IF @@in_transaction = 1 THEN
		SIGNAL SQLSTATE '25000' SET MESSAGE_TEXT = 'load_data_from_s3 waits for an agent to commit the load: call it outside an explicit transaction';
	END IF;
	SET v_id = {s}.`_enqueue`('LOAD_FROM_S3', NULL, NULL, 0, JSON_OBJECT('statement', p_statement, 'caller', USER()));
	REPEAT
		DO SLEEP(0.02);
		SELECT lifecycle, task_info INTO v_state, v_info FROM {s}.`tasks` WHERE task_id = v_id;
	UNTIL v_state IN ('SUCCESS', 'ERROR', 'CANCELLED') END REPEAT;
	IF v_state <> 'SUCCESS' THEN
		SET v_msg = LEFT(CONCAT('load task ', v_id, ' ', v_state, ': ', COALESCE(v_info, '')), 500);
		SIGNAL SQLSTATE 'HY000' SET MESSAGE_TEXT = v_msg;
	END IF;
	SELECT v_id AS task_id, v_info AS task_info;
END
--;;
GRANT EXECUTE ON PROCEDURE {s}.`load_data_from_s3` TO s3bridge_load
