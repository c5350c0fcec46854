package pipeline

import (
	"fmt"
	"strings"
)

// Codec is the compression of a pipeline's files, by s3bridge's names
// (--codec). Each file format takes the ones it can write and has its own
// default (format/avro, format/cdcparquet, format/cdcjson); "" means that
// default.
type Codec string

// The codecs.
const (
	CodecNull    Codec = "null"
	CodecDeflate Codec = "deflate"
	CodecSnappy  Codec = "snappy"
	CodecZStd    Codec = "zstd"
)

// ParseCodec parses a --codec value, case-insensitively; "zstandard" is
// zstd and "gzip" deflate (the names Avro and gzip's users know them by).
// "" stays "" (the format's default).
func ParseCodec(s string) (Codec, error) {
	switch c := Codec(strings.ToLower(s)); c {
	case "", CodecNull, CodecDeflate, CodecSnappy, CodecZStd:
		return c, nil
	case "zstandard":
		return CodecZStd, nil
	case "gzip":
		return CodecDeflate, nil
	}
	return "", fmt.Errorf("unknown codec %q (want snappy, zstd, deflate or null)", s)
}
