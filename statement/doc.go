// Package statement parses Aurora MySQL's S3 statements into plain values
// and renders them for the databases s3bridge drives:
//
//	LOAD DATA [FROM] S3 [FILE | PREFIX | MANIFEST] 'uri'
//	    [REPLACE | IGNORE] INTO TABLE [db.]tbl [PARTITION (p, …)]
//	    [CHARACTER SET cs]
//	    [{FIELDS | COLUMNS} [TERMINATED BY 's'] [[OPTIONALLY] ENCLOSED BY 'c'] [ESCAPED BY 'c']]
//	    [LINES [STARTING BY 's'] [TERMINATED BY 's']]
//	    [IGNORE n {LINES | ROWS}] [(col_or_@var, …)] [SET col = expr, …]
//
//	LOAD XML [FROM] S3 [FILE | PREFIX | MANIFEST] 'uri'
//	    [REPLACE | IGNORE] INTO TABLE [db.]tbl [PARTITION (p, …)]
//	    [CHARACTER SET cs] [ROWS IDENTIFIED BY '<element>']
//	    [IGNORE n {LINES | ROWS}] [(field_or_@var, …)] [SET col = expr, …]
//
//	SELECT … INTO OUTFILE S3 'uri'
//	    [CHARACTER SET cs] [FORMAT {CSV | TEXT | PARQUET} [HEADER]]
//	    [{FIELDS | COLUMNS} …] [LINES …]
//	    [MANIFEST {ON | OFF}] [OVERWRITE {ON | OFF}]
//	    [ENCRYPTION {ON | OFF | SSE_S3 | SSE_KMS ['key-id']}]
//	    [PARTSIZE bytes]
//
// ParseLoad gives a *Load, ParseExport an *Export, Parse either. A Load
// renders as MariaDB's LOAD … LOCAL INFILE (MariaDBLocalInfile) or as COPY
// options for PostgreSQL (PostgresCopyOptions, which says which clauses
// COPY can't express instead of dropping them). Load and Export both
// render back to Aurora text with String. ENCRYPTION (Aurora 3.05) is
// parsed and kept; callers that can't honour it must refuse it.
//
// # Extensions and limits
//
// FORMAT PARQUET and PARTSIZE are s3bridge's, not Aurora's: Parquet takes
// no CHARACTER SET, FIELDS, LINES or HEADER, and PARTSIZE sets the part size
// that Aurora fixes at 6 GB. Export options may come in any order; LOAD
// clauses must follow Aurora's order. A FIELDS or LINES option given twice
// is an error, where MySQL would let the last one win. Column lists and SET
// take unqualified column names.
//
// An export must be a single query (SELECT, WITH … SELECT, or a
// parenthesised SELECT or UNION), with its INTO OUTFILE S3 clause at the
// end or before FROM; ParseExport refuses everything else with a
// *SyntaxError saying why.
//
// # Lexical rules
//
// Statements are read with MySQL's default lexical rules: keywords in any
// case; strings in '…' or "…" with backslash escapes (\0 \b \n \r \t \Z,
// \% and \_ kept as is, \x for any other x) and doubled quotes, adjacent
// strings concatenated, X'…', 0x…, B'…' and 0b… accepted where a string is;
// identifiers bare (Unicode allowed) or in backquotes with doubled
// backquotes; user variables as @name or @'name'; comments with --, # and
// /* */. Double quotes are strings, as without sql_mode ANSI_QUOTES.
// Executable comments (/*! … */, /*M! … */), "--" not followed by a space
// (two minus signs to MySQL, a comment to PostgreSQL) and raw NUL bytes are
// refused, because some server would read them differently than we do.
//
// An export's query is checked with the same rules, whatever database will
// run it. PostgreSQL-only syntax such as $$dollar quotes$$, nested block
// comments or a standard string ending in a backslash ('C:\') can make a
// valid query fail to parse here; it can't make a different query run,
// since Query is always a verbatim slice of the input.
package statement
