package writer

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// uploadAborter is the optional capability of a Store to abort the
// multipart uploads a killed writer left (s3store.Client has it).
type uploadAborter interface {
	AbortUploads(ctx context.Context, bucket, prefix string, initiatedBefore time.Time, match func(key string) bool) (int, error)
}

// Recover removes what attempts that died after cp was saved left under
// the layout's database prefix, so that streaming from cp.LSN rewrites
// those changes without any object holding one twice:
//
//   - change files keyed at or after cp.LSN (all of them when cp.LSN is 0):
//     no saved checkpoint recorded them (see the package comment);
//   - snapshot parts other than those of each table's recorded snapshots
//     (the latest and the earlier ones);
//   - .avsc files of versions after each table's recorded one (their
//     files are among the deleted ones; a replay writes them again).
//
// A file keyed before cp.LSN is always recorded: files are recorded whole,
// by the Flush that closed and confirmed them, and every file opened after
// that Flush starts with a transaction that commits at or after its LSN.
// So a change file before cp.LSN that sorts after the table's recorded last
// file can't come from a crashed attempt of this pipeline: Recover fails
// on one (another writer on the same prefix?) instead of guessing, and so
// it does when the recorded last file is missing.
//
// It also aborts the multipart uploads left under the prefix when the store
// can. It returns the number of objects deleted.
func Recover(ctx context.Context, store Store, bucket string, l Layout, cp Checkpoint, log *slog.Logger) (int, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if a, ok := store.(uploadAborter); ok {
		if _, err := a.AbortUploads(ctx, bucket, l.DatabaseDir(), time.Now(), nil); err != nil {
			return 0, fmt.Errorf("recover %s: %w", l.DatabaseDir(), err)
		}
	}
	_, schemas, err := store.List(ctx, bucket, l.DatabaseDir(), "/")
	if err != nil {
		return 0, fmt.Errorf("recover: list %s: %w", l.DatabaseDir(), err)
	}
	deleted := 0
	seen := map[string]bool{}
	for _, sp := range schemas {
		_, tables, err := store.List(ctx, bucket, sp, "/")
		if err != nil {
			return deleted, fmt.Errorf("recover: list %s: %w", sp, err)
		}
		for _, tp := range tables {
			schema, err1 := url.PathUnescape(path.Base(sp))
			name, err2 := url.PathUnescape(path.Base(tp))
			if err1 != nil || err2 != nil {
				log.Warn("pipeline recovery: skipping a prefix that is not a table's", "prefix", tp)
				continue
			}
			k := tableKey(schema, name)
			seen[k] = true
			n, err := recoverTable(ctx, store, bucket, tp, cp, cp.Tables[k], log)
			deleted += n
			if err != nil {
				return deleted, fmt.Errorf("recover %s: %w", k, err)
			}
		}
	}
	for k, m := range cp.Tables {
		if m.File != "" && !seen[k] {
			return deleted, fmt.Errorf("recover %s: its recorded change file %s is missing", k, m.File)
		}
	}
	return deleted, nil
}

func recoverTable(ctx context.Context, store Store, bucket, dir string, cp Checkpoint, m TableMark, log *slog.Logger) (int, error) {
	var doomed []string
	// Change files.
	objs, _, err := store.List(ctx, bucket, dir+"changes/", "")
	if err != nil {
		return 0, fmt.Errorf("list %schanges/: %w", dir, err)
	}
	var recorded changeName
	if m.File != "" {
		cn, ok := parseChangeName(path.Base(m.File))
		if !ok {
			return 0, fmt.Errorf("recorded change file %s has no change file name", m.File)
		}
		recorded = cn
	}
	foundRecorded := m.File == ""
	for _, o := range objs {
		cn, ok := parseChangeName(strings.TrimPrefix(o.Key, dir+"changes/"))
		switch {
		case !ok:
			log.Warn("pipeline recovery: leaving an object that is no change file", "key", o.Key)
		case o.Key == m.File:
			foundRecorded = true
		case cp.LSN == 0 || cn.first >= cp.LSN:
			doomed = append(doomed, o.Key)
		case m.File == "" || recorded.less(cn):
			return 0, fmt.Errorf("change file %s starts before the checkpoint %s but after the last recorded file %q: was another writer here?",
				o.Key, cp.LSN, m.File)
		}
	}
	if !foundRecorded {
		return 0, fmt.Errorf("its recorded change file %s is missing", m.File)
	}
	// Snapshots other than the recorded ones, and parts past their count.
	objs, _, err = store.List(ctx, bucket, dir+"snapshot/", "")
	if err != nil {
		return 0, fmt.Errorf("list %ssnapshot/: %w", dir, err)
	}
	// A completed snapshot keeps its chunks 0 to Parts-1 (a part per
	// chunk, or more: part-<chunk>_<n>); one in progress the chunks done.
	keep := map[string]func(int) bool{}
	for _, e := range m.Earlier {
		keep[e.ID] = func(c int) bool { return c < e.Parts }
	}
	if m.Snapshot != "" {
		keep[m.Snapshot] = func(c int) bool { return c < m.Parts }
	}
	if p := m.Partial; p != nil && p.ID != m.Snapshot {
		keep[p.ID] = func(c int) bool { return slices.Contains(p.Done, c) }
	}
	for _, o := range objs {
		id, part, _ := strings.Cut(strings.TrimPrefix(o.Key, dir+"snapshot/"), "/")
		if k, ok := keep[id]; !ok || chunkOf(part) < 0 || !k(chunkOf(part)) {
			doomed = append(doomed, o.Key)
		}
	}
	// Schema versions after the recorded one.
	objs, _, err = store.List(ctx, bucket, dir+"_schemas/", "")
	if err != nil {
		return 0, fmt.Errorf("list %s_schemas/: %w", dir, err)
	}
	version := 0
	if m.Schema != nil {
		version = m.Schema.Version
	}
	if m.Partial != nil && m.Partial.Schema != nil {
		version = max(version, m.Partial.Schema.Version)
	}
	for _, o := range objs {
		v, ok := strings.CutPrefix(strings.TrimPrefix(o.Key, dir+"_schemas/"), "v")
		n, err := strconv.Atoi(strings.TrimSuffix(v, ".avsc"))
		if ok && err == nil && n > version {
			doomed = append(doomed, o.Key)
		}
	}
	for i, key := range doomed {
		if err := store.Delete(ctx, bucket, key); err != nil {
			return i, fmt.Errorf("delete %s: %w", key, err)
		}
		log.Info("pipeline recovery: deleted an object written after the checkpoint", "key", key, "checkpoint", cp.LSN)
	}
	return len(doomed), nil
}
