package compress

import (
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// NewWriter returns a writer that compresses what is written to it with
// codec (Gzip or Zstd) onto w; its Close flushes the last block and the
// trailer but does not close w. level is the codec's own scale (gzip 1 to
// 9, zstd 1 to 22), 0 meaning the codec's default. Other codecs are an
// error: s3bridge reads bzip2 and zip but does not write them.
func NewWriter(w io.Writer, codec Codec, level int) (io.WriteCloser, error) {
	switch codec {
	case Gzip:
		if level == 0 {
			level = gzip.DefaultCompression
		}
		zw, err := gzip.NewWriterLevel(w, level)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zw, nil
	case Zstd:
		// One encoder goroutine: the source of the data, not the
		// compressor, should be the bottleneck, and memory stays small.
		opts := []zstd.EOption{zstd.WithEncoderConcurrency(1)}
		if level != 0 {
			opts = append(opts, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)))
		}
		zw, err := zstd.NewWriter(w, opts...)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zw, nil
	}
	return nil, fmt.Errorf("compress with %s: s3bridge writes gzip and zstd only", codec)
}
