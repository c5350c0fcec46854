package binlog

// TextCharset reports whether a stream turns the values of a character
// column in charset (MariaDB's name: "utf8mb4", "latin1", "sjis" …) into
// strings (pipeline.KindString). A column in any other charset — and a
// binary one — carries its bytes (pipeline.KindBytes, typed as the binary
// type of the same size). A snapshot reading the same table must type it
// the same way (pipeline/mysource).
func TextCharset(charset string) bool {
	_, ok := textOf(charset)
	return ok
}
