package statement

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnsafeExpr means a LOAD … SET expression could do more than compute a
// value from the row being loaded.
var ErrUnsafeExpr = errors.New("not allowed in a SET expression of a load run for a caller")

// setFunctions are the built-in functions a SET expression may call: they
// compute from their arguments and read nothing else (no table, file,
// lock, sequence, session or server state).
var setFunctions = wordSet(`
ABS ACOS ADDDATE ADDTIME ASCII ASIN ATAN ATAN2 BIN BIT_COUNT BIT_LENGTH CAST CEIL CEILING CHAR CHARACTER_LENGTH
CHAR_LENGTH COALESCE CONCAT CONCAT_WS CONV CONVERT CONVERT_TZ COS COT CRC32 CURDATE CURRENT_DATE CURRENT_TIME
CURRENT_TIMESTAMP CURTIME DATE DATEDIFF DATE_ADD DATE_FORMAT DATE_SUB DAY DAYNAME DAYOFMONTH DAYOFWEEK DAYOFYEAR
DEGREES ELT EXP EXTRACT FIELD FIND_IN_SET FLOOR FORMAT FROM_BASE64 FROM_DAYS FROM_UNIXTIME GREATEST HEX HOUR IF
IFNULL INET6_ATON INET6_NTOA INET_ATON INET_NTOA INSERT INSTR ISNULL JSON_ARRAY JSON_EXTRACT JSON_OBJECT JSON_QUOTE
JSON_UNQUOTE JSON_VALID JSON_VALUE LAST_DAY LCASE LEAST LEFT LENGTH LN LOCALTIME LOCALTIMESTAMP LOCATE LOG LOG10
LOG2 LOWER LPAD LTRIM MAKEDATE MAKETIME MD5 MICROSECOND MID MINUTE MOD MONTH MONTHNAME NOW NULLIF OCT OCTET_LENGTH
ORD PI POSITION POW POWER QUARTER QUOTE RADIANS REGEXP_INSTR REGEXP_REPLACE REGEXP_SUBSTR REPEAT REPLACE REVERSE
RIGHT ROUND RPAD RTRIM SECOND SEC_TO_TIME SHA SHA1 SHA2 SIGN SIN SPACE SQRT STR_TO_DATE SUBDATE SUBSTR SUBSTRING
SUBSTRING_INDEX SUBTIME SYSDATE TAN TIME TIMEDIFF TIMESTAMP TIMESTAMPADD TIMESTAMPDIFF TIME_FORMAT TIME_TO_SEC
TO_BASE64 TO_DAYS TRIM TRUNCATE UCASE UNHEX UNIX_TIMESTAMP UPPER UTC_DATE UTC_TIME UTC_TIMESTAMP UUID WEEK
WEEKDAY WEEKOFYEAR YEAR YEARWEEK
BINARY DEC DECIMAL DATETIME DOUBLE FLOAT INTEGER NCHAR NUMERIC VARCHAR`) // the last line: CAST's types

// setForbidden are words that start a subquery or read a sequence.
var setForbidden = wordSet(`SELECT VALUES TABLE WITH NEXTVAL LASTVAL SETVAL NEXT PREVIOUS`)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// CheckSetExpr refuses a LOAD … SET expression that could read or do more
// than compute a value from the row: MariaDB evaluates SET expressions
// with the privileges of the session that runs the LOAD (the agent's), not
// those of the view the rows go through, so a subquery, a stored function
// or LOAD_FILE there would read what the caller may not. Allowed: the
// row's columns and @variables, literals, operators, CASE/INTERVAL/CAST
// syntax and the built-in functions in setFunctions. Comments are refused
// too: MariaDB runs the text of /*! … */ comments.
func CheckSetExpr(expr string) error {
	toks, err := lex(expr)
	if err != nil {
		return err
	}
	prevEnd := 0
	for i, t := range toks {
		if gap := expr[prevEnd:t.pos]; strings.TrimSpace(gap) != "" {
			return fmt.Errorf("comment %q: %w", strings.TrimSpace(gap), ErrUnsafeExpr)
		}
		prevEnd = t.end
		next := toks[min(i+1, len(toks)-1)]
		call := next.kind == tokPunct && next.val == "("
		switch t.kind {
		case tokWord:
			w := strings.ToUpper(t.val)
			if setForbidden[w] {
				return fmt.Errorf("%s: %w", t.val, ErrUnsafeExpr)
			}
			if call && !setFunctions[w] {
				return fmt.Errorf("function %s: %w", t.val, ErrUnsafeExpr)
			}
			if next.kind == tokPunct && next.val == "." {
				return fmt.Errorf("qualified name %s.…: %w", t.val, ErrUnsafeExpr)
			}
		case tokQuotedIdent:
			if call {
				return fmt.Errorf("function `%s`: %w", t.val, ErrUnsafeExpr)
			}
			if next.kind == tokPunct && next.val == "." {
				return fmt.Errorf("qualified name `%s`.…: %w", t.val, ErrUnsafeExpr)
			}
		case tokPunct:
			switch t.val {
			case "@@":
				return fmt.Errorf("system variable: %w", ErrUnsafeExpr)
			case ";":
				return fmt.Errorf("second statement: %w", ErrUnsafeExpr)
			case ".":
				if i == 0 || toks[i-1].kind != tokNumber && next.kind != tokNumber {
					return fmt.Errorf("qualified name: %w", ErrUnsafeExpr)
				}
			}
		}
	}
	if rest := strings.TrimSpace(expr[prevEnd:]); rest != "" {
		return fmt.Errorf("comment %q: %w", rest, ErrUnsafeExpr)
	}
	return nil
}
