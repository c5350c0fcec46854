// Package format decodes the bytes of a data file into rows for bulk loads:
// MySQL TEXT, TSV, CSV, JSON Lines, JSON and XML, streamed with memory
// bounded by the largest record whatever the input size.
//
// A Reader is a pull iterator (like pgx's CopyFromSource): Next returns one
// record at a time as Values, the slice is reused, and the strings of one
// record share a single allocation. Decompression lives in format/compress
// and charset conversion in Transcode; NewReader applies Options.Charset
// itself, so a loader chains compress.Decompress → NewReader. Guess proposes
// Options from a sample.
//
// The way back lives here too. An Encoder (CSVRow, TextRow) re-encodes
// decoded records for a database's bulk path: PostgreSQL's COPY CSV,
// MariaDB's LOAD DATA text. A RowWriter encodes typed rows (package tuple)
// as files, one package per format: format/delimited (csv and text),
// format/jsonl and format/parquet; compress.NewWriter compresses them.
//
// # Formats
//
// text is MySQL's LOAD DATA format, by default tab-separated fields, no
// enclosure, backslash escapes and "\n" line ends, with MySQL's rules: the
// escapes \0 \b \n \r \t \Z \\, \N for NULL only as the whole field, an
// escape before any other byte keeps that byte (so an escaped delimiter or
// terminator is data); with ENCLOSED BY, a quote ends a field only before a
// delimiter, a terminator or the end of the input, doubled quotes are one
// quote and the unquoted word NULL is NULL; LINES STARTING BY skips
// everything up to the prefix, including lines without it; IGNORE n LINES
// skips lines as MySQL's next_line does; delimiters and terminators may be
// several bytes long; a '\r' before '\n' is data.
//
// tsv is PostgreSQL's COPY text format rather than the IANA one (which
// cannot write a tab, a newline or NULL in a value): tab-separated, no
// quoting, the escapes \b \f \n \r \t \v, octal \ooo and hex \xhh, \N for
// NULL, and "\r\n" line ends accepted.
//
// csv is RFC 4180: quoted fields with delimiters and line breaks inside
// (Line is still where the record starts), doubled quotes, "\r\n" or "\n",
// a custom delimiter, quote and terminator, an optional escape (PostgreSQL's
// ESCAPE: inside quotes, before the quote or itself), NullString and
// NullEmpty for NULL, a header. Blank lines are skipped, as encoding/csv
// does. A quote inside an unquoted field, a character after a closing quote
// and a quote left open at the end are errors unless LazyQuotes.
//
// jsonl is one JSON object per line, blank lines skipped. json is a
// top-level array of objects, or objects one after another. Values keep
// their JSON text: strings unescaped, numbers exactly as written (no float
// rounding: 12345678901234567890 and 0.1 come out as such), true and false
// as "true" and "false", null as Null, nested objects and arrays as compact
// JSON. A repeated key keeps its last value. Both are parsed by a small
// scanner, one element at a time, rather than encoding/json's Decoder,
// because a map would lose the key order, the Decoder has no line numbers
// and the scanner is several times faster; json.Compact checks nested
// values.
//
// xml follows Aurora's LOAD XML: every element named by RowsIdentifiedBy
// (at any depth) is a row, as <row col="v"/>, <row><col>v</col></row> or
// <row><field name="col">v</field></row>, mixed freely; xsi:nil="true" or
// an absent field is Null, an empty element the empty string. It is streamed
// with encoding/xml, which also checks the document; its columns in errors
// are where the decoder noticed the problem.
//
// JSON and XML records are aligned to Columns, the union of the names seen
// so far, in first-seen order; see Reader.Columns for names that first
// appear after the first record. A leading UTF-8 byte order mark is dropped
// in every format.
//
// # Errors
//
// Every error from Next is a *Error with the line, the byte column and the
// field (its header name or 1-based index): malformed quoting, invalid UTF-8
// at the offending byte, a record over MaxRecordBytes, JSON or XML syntax,
// and read errors from the source (a truncated gzip stops the load at the
// line where the data ends). After a record-level error the reader has
// skipped to the next line terminator and the caller may go on (a loader
// collecting bad rows); Fatal errors repeat. Counting fields is not the
// decoder's job: records come with as many fields as the input has, and the
// loader compares them with the table.
package format
