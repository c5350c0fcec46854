package connector

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"time"
)

// Digest algorithms.
const (
	DigestSHA256     = "sha256"
	DigestSHA512     = "sha512"
	DigestHMACSHA256 = "hmac-sha256"
	DigestHMACSHA512 = "hmac-sha512"
)

var digestHashes = map[string]func() hash.Hash{
	DigestSHA256: sha256.New, DigestSHA512: sha512.New,
	DigestHMACSHA256: sha256.New, DigestHMACSHA512: sha512.New,
}

func hmacAlgorithm(a string) bool { return a == DigestHMACSHA256 || a == DigestHMACSHA512 }

// digestStage replaces columns by the hex digest of their text.
type digestStage struct {
	at   []int // each input column's digest, -1 for none
	cols []FilterColumn
	keys [][]byte // resolved HMAC keys, by digest; set by bind
}

func (f Filter) digestStage(in []Column) (stage, []Column, error) {
	if len(f.Columns) == 0 {
		return nil, nil, errors.New("columns is required")
	}
	d := &digestStage{at: make([]int, len(in)), cols: f.Columns}
	for i := range d.at {
		d.at[i] = -1
	}
	out := make([]Column, len(in))
	copy(out, in)
	for k, fc := range f.Columns {
		i := columnIndexIn(in, fc.Name)
		if i < 0 {
			return nil, nil, fmt.Errorf("columns: %q is not a column", fc.Name)
		}
		if d.at[i] >= 0 {
			return nil, nil, fmt.Errorf("columns: %q appears twice", fc.Name)
		}
		a := cmpOr(fc.Algorithm, DigestSHA256)
		if digestHashes[a] == nil {
			return nil, nil, fmt.Errorf("columns: %q: algorithm %q: want sha256, sha512, hmac-sha256 or hmac-sha512", fc.Name, fc.Algorithm)
		}
		switch {
		case hmacAlgorithm(a) && fc.Key == "":
			return nil, nil, fmt.Errorf("columns: %q: %s needs a key: key: ${env:NAME} or key: ${file:/path/to/file}", fc.Name, a)
		case !hmacAlgorithm(a) && fc.Key != "":
			return nil, nil, fmt.Errorf("columns: %q: %s takes no key (hmac-sha256 and hmac-sha512 do)", fc.Name, a)
		}
		if err := fc.Key.check(); err != nil {
			return nil, nil, fmt.Errorf("columns: %q: key: %w", fc.Name, err)
		}
		d.at[i] = k
		out[i] = Column{Name: cmpOr(fc.NewName, fc.Name), Type: TypeString}
	}
	for i, c := range out {
		if j := columnIndexIn(out, c.Name); j != i {
			return nil, nil, fmt.Errorf("columns: new_name %q is the name of another column", c.Name)
		}
	}
	return d, out, nil
}

// bind resolves the HMAC keys where the run happens. An error names the
// column, never the key.
func (d *digestStage) bind(run FilterRun) (stage, error) {
	b := &digestStage{at: d.at, cols: d.cols, keys: make([][]byte, len(d.cols))}
	for k, fc := range d.cols {
		if !hmacAlgorithm(cmpOr(fc.Algorithm, DigestSHA256)) {
			continue
		}
		key, err := fc.Key.Resolve(run.Env)
		if err != nil {
			return nil, fmt.Errorf("digest of column %q: key: %w", fc.Name, err)
		}
		if key == "" {
			return nil, fmt.Errorf("digest of column %q: the key is empty", fc.Name)
		}
		b.keys[k] = []byte(key)
	}
	return b, nil
}

func (d *digestStage) row(out, in []any, _ *rowContext) error {
	if d.keys == nil {
		return errors.New("connector: digest keys were not resolved for the run")
	}
	for i, v := range in {
		k := d.at[i]
		if k < 0 || v == nil {
			out[i] = v
			continue
		}
		a := cmpOr(d.cols[k].Algorithm, DigestSHA256)
		var h hash.Hash
		if hmacAlgorithm(a) {
			h = hmac.New(digestHashes[a], d.keys[k])
		} else {
			h = digestHashes[a]()
		}
		h.Write(digestText(v))
		out[i] = hex.EncodeToString(h.Sum(nil))
	}
	return nil
}

// digestText is the text a value's digest is of, whatever the database:
// a string as it is, a number as written, true or false, a timestamp in
// RFC 3339 in UTC, JSON as it was read.
func digestText(v any) []byte {
	switch v := v.(type) {
	case string:
		return []byte(v)
	case number:
		return []byte(v)
	case bool:
		return []byte(strconv.FormatBool(v))
	case time.Time:
		return []byte(v.UTC().Format(time.RFC3339Nano))
	case json.RawMessage:
		return v
	}
	return fmt.Append(nil, v)
}
