package transfer

import (
	"errors"
	"testing"

	"github.com/s3bridge/s3bridge"
)

func TestRel(t *testing.T) {
	d := &Dir{Path: "/srv/area"}
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "a.csv", want: "a.csv"},
		{in: "sub/dir/a.csv", want: "sub/dir/a.csv"},
		{in: "sub/../a.csv", want: "a.csv"},
		{in: "/srv/area/x/y.csv", want: "x/y.csv"},
		{in: "", bad: true},
		{in: "../x", bad: true},
		{in: "a/../../x", bad: true},
		{in: "/etc/passwd", bad: true},
		{in: "/srv/areabis/x", bad: true},
		{in: "/srv/area", bad: true},
		{in: `C:\x`, bad: true},
		{in: "C:x", bad: true},
		{in: `\\host\share`, bad: true},
		{in: "a\x00b", bad: true},
	}
	for _, tc := range tests {
		got, err := d.Rel(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("Rel(%q) = %q, want an error", tc.in, got)
			} else if tc.in != "" && !errors.Is(err, s3bridge.ErrOutsideDirectory) {
				t.Errorf("Rel(%q): %v, want ErrOutsideDirectory", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Rel(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestLocalName(t *testing.T) {
	for key, want := range map[string]string{"a/b/c.txt": "c.txt", "top.dmp": "top.dmp"} {
		if got, err := LocalName(key); err != nil || got != want {
			t.Errorf("LocalName(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
	for _, key := range []string{"a/..", "..", "a/.", "dir/", `a\b`, "x/C:evil", "nul\x00"} {
		if got, err := LocalName(key); !errors.Is(err, s3bridge.ErrOutsideDirectory) {
			t.Errorf("LocalName(%q) = %q, %v; want ErrOutsideDirectory", key, got, err)
		}
	}
}

func FuzzRel(f *testing.F) {
	for _, s := range []string{"a", "../a", "/srv/area/a", `C:\a`, "a/../../b", "./a/./b"} {
		f.Add(s)
	}
	d := &Dir{Path: "/srv/area"}
	f.Fuzz(func(t *testing.T, p string) {
		rel, err := d.Rel(p)
		if err != nil {
			return
		}
		// Whatever Rel accepts must stay lexically inside the directory.
		if rel == "" || rel == ".." || len(rel) >= 3 && rel[:3] == "../" || rel[0] == '/' {
			t.Fatalf("Rel(%q) = %q escapes", p, rel)
		}
	})
}
