package s3bridge

import (
	"strings"
	"testing"
)

func TestTaskTypeKind(t *testing.T) {
	tests := []struct {
		typ  TaskType
		want Kind
	}{
		{TaskUpload, KindTransfer},
		{TaskDownload, KindTransfer},
		{TaskListFiles, KindTransfer},
		{TaskDeleteFiles, KindTransfer},
		{TaskLoadFromS3, KindLoad},
		{TaskImportFromS3, KindImport},
		{TaskExportToS3, KindExport},
		{"SOMETHING_NEWER", KindTransfer},
	}
	for _, tc := range tests {
		if got := tc.typ.Kind(); got != tc.want {
			t.Errorf("%s.Kind(): got %s, want %s", tc.typ, got, tc.want)
		}
	}
	// Every kind is pooled today, and the table and Kind agree.
	for _, k := range Kinds() {
		if !k.Pooled() {
			t.Errorf("kind %s: not pooled", k)
		}
		for _, typ := range k.Types() {
			if typ.Kind() != k {
				t.Errorf("%s in kind %s, but Kind() says %s", typ, k, typ.Kind())
			}
		}
	}
	if Kind("pipeline").Pooled() || Kind("pipeline").Types() != nil {
		t.Errorf("unknown kind: pooled or with types")
	}
}

func TestSettingsLimit(t *testing.T) {
	set := Settings{MaxRunning: 3, Limits: map[Kind]int{KindLoad: 1}}
	tests := []struct {
		kind Kind
		want int
	}{
		{KindTransfer, 3},
		{KindLoad, 1},
		{KindExport, 3},
		{"pipeline", 0},
	}
	for _, tc := range tests {
		if got := set.Limit(tc.kind); got != tc.want {
			t.Errorf("Limit(%s): got %d, want %d", tc.kind, got, tc.want)
		}
	}
	if got := (Settings{}).WithDefaults().Limit(KindExport); got != DefaultMaxRunning {
		t.Errorf("default export limit: got %d, want %d", got, DefaultMaxRunning)
	}
}

func TestSettingsValidateLimits(t *testing.T) {
	tests := []struct {
		limits map[Kind]int
		want   string // "" for valid
	}{
		{nil, ""},
		{map[Kind]int{KindLoad: 1, KindExport: 4}, ""},
		{map[Kind]int{KindLoad: 0}, "must be at least 1"},
		{map[Kind]int{"pipeline": 1}, "no such kind"},
	}
	for _, tc := range tests {
		err := Settings{Limits: tc.limits}.WithDefaults().Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("limits %v: got %v, want valid", tc.limits, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("limits %v: got %v, want an error with %q", tc.limits, err, tc.want)
		}
	}
}
