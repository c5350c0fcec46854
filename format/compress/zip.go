package compress

import (
	"archive/zip"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/flate"
)

// OpenZip returns the contents of the regular file entries of a zip archive,
// in the archive's directory order, concatenated byte for byte: no separator
// is added, so each entry should end with a line terminator (and a header
// line in every entry is read as data after the first one; load such
// archives entry by entry). Directories and symbolic links are skipped; an
// encrypted entry is an error, and so is an entry whose name leaves the
// archive's directory (zip.ErrInsecurePath). limit caps the total
// decompressed size as in Decompress, and each entry is also checked
// against its declared size and CRC by archive/zip. Close closes the
// current entry, not ra.
func OpenZip(ra io.ReaderAt, size int64, limit int64) (io.ReadCloser, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	// klauspost's inflate is about twice as fast as the standard library's.
	zr.RegisterDecompressor(zip.Deflate, flate.NewReader)
	var files []*zip.File
	for _, f := range zr.File {
		// An entry named to land outside its directory ("../x", "/x",
		// "a\..\x") marks a zip-slip archive: refused, not loaded.
		if !filepath.IsLocal(f.Name) || strings.Contains(f.Name, `\`) {
			return nil, fmt.Errorf("zip: entry %q: %w", f.Name, zip.ErrInsecurePath)
		}
		if !f.Mode().IsRegular() || strings.HasSuffix(f.Name, "/") {
			continue
		}
		if f.Flags&0x1 != 0 {
			return nil, fmt.Errorf("zip: entry %s is encrypted", f.Name)
		}
		files = append(files, f)
	}
	e := &entries{files: files}
	return newLimited(e, Zip, limit, e.Close), nil
}

// entries reads zip entries one after another, opening each when the
// previous one is done so only one decoder is alive.
type entries struct {
	files []*zip.File
	cur   io.ReadCloser
	name  string
}

func (e *entries) Read(p []byte) (int, error) {
	for {
		if e.cur == nil {
			if len(e.files) == 0 {
				return 0, io.EOF
			}
			f := e.files[0]
			e.files = e.files[1:]
			rc, err := f.Open()
			if err != nil {
				return 0, fmt.Errorf("entry %s: %w", f.Name, err)
			}
			e.cur, e.name = rc, f.Name
		}
		n, err := e.cur.Read(p)
		if err == io.EOF {
			cerr := e.cur.Close()
			e.cur = nil
			if cerr != nil {
				return n, fmt.Errorf("entry %s: %w", e.name, cerr)
			}
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			return n, fmt.Errorf("entry %s: %w", e.name, err)
		}
		return n, nil
	}
}

func (e *entries) Close() error {
	if e.cur == nil {
		return nil
	}
	err := e.cur.Close()
	e.cur = nil
	return err
}
