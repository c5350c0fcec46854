package transfer

import (
	"context"
	"errors"
	"io/fs"
	"strings"

	"github.com/s3bridge/s3bridge"
)

// A task whose agent was killed is claimed again (attempt 2 and up), and
// the new attempt finds what the killed one left: its finished output,
// which the task must recognise as its own rather than fail "already
// exists" over, and its unfinished output, which nothing else would clean
// up. These helpers handle the unfinished part; the finished one is
// handled where each transfer checks for an existing target.

// takeover reports whether this attempt took the task over from another.
func (j *job) takeover() bool { return j.task.Attempt > 1 }

// abortUploads aborts, on a takeover, the multipart uploads of keys that
// were initiated before this attempt, asking key by key (MinIO lists
// uploads only for an exact key): a
// killed agent's, which would otherwise stay in the bucket, billed and
// invisible. A store that can't (no s3bridge.UploadAborter) or a failure
// to only costs a warning: the task itself can still succeed.
func (j *job) abortUploads(ctx context.Context, bucket string, keys ...string) {
	if !j.takeover() {
		return
	}
	a, ok := j.store.(s3bridge.UploadAborter)
	if !ok {
		return
	}
	total := 0
	for _, key := range keys {
		at := s3bridge.Location{Bucket: bucket, Key: key}
		if err := j.guard.Allow("s3:AbortMultipartUpload", at.ARN(), nil); err != nil {
			j.rep.Logf(s3bridge.LevelWarn, "left the multipart uploads an earlier attempt may have left of %s: %v", at, err)
			return
		}
		n, err := a.AbortUploads(ctx, bucket, key, j.claimed, func(k string) bool { return k == key })
		total += n
		if err != nil {
			j.rep.Logf(s3bridge.LevelWarn, "abort the multipart uploads an earlier attempt left of %s: %v", at, err)
			break
		}
	}
	if total > 0 {
		j.rep.Logf(s3bridge.LevelInfo, "aborted %d multipart uploads an earlier attempt left", total)
	}
}

// removePartials removes, on a takeover, the partial download files
// (tempName) of the targets rels that are older than this attempt: a killed
// agent's, which no one else would remove. Failures only cost a warning.
func (j *job) removePartials(dir *Dir, rels []string) {
	if !j.takeover() {
		return
	}
	byDir := map[string]map[string]bool{}
	for _, rel := range rels {
		d, name := splitDir(rel)
		if byDir[d] == nil {
			byDir[d] = map[string]bool{}
		}
		byDir[d][name] = true
	}
	for d, names := range byDir {
		entries, err := fs.ReadDir(dir.Root.FS(), cleanDir(d))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			j.rep.Logf(s3bridge.LevelWarn, "look for partial downloads an earlier attempt left in %s: %v", cleanDir(d), err)
			continue
		}
		for _, e := range entries {
			name, ok := partialOf(e.Name())
			if !ok || !names[name] || !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if err != nil || !fi.ModTime().Before(j.claimed) {
				continue
			}
			if err := dir.Root.Remove(d + e.Name()); err != nil {
				j.rep.Logf(s3bridge.LevelWarn, "remove the partial download %s an earlier attempt left: %v", d+e.Name(), err)
				continue
			}
			j.rep.Logf(s3bridge.LevelInfo, "removed the partial download %s an earlier attempt left", d+e.Name())
		}
	}
}

// partialOf returns the target name of a tempName file name.
func partialOf(file string) (string, bool) {
	rest, ok := strings.CutPrefix(file, ".s3bridge-")
	if !ok {
		return "", false
	}
	rest, ok = strings.CutSuffix(rest, ".part")
	// NAME-RANDOM, RANDOM being randomSuffix's 12 hex digits.
	const n = 12
	if !ok || len(rest) < n+2 || rest[len(rest)-n-1] != '-' {
		return "", false
	}
	for _, c := range rest[len(rest)-n:] {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return "", false
		}
	}
	return rest[:len(rest)-n-1], true
}

func cleanDir(d string) string {
	if d = strings.TrimSuffix(d, "/"); d == "" {
		return "."
	}
	return d
}
