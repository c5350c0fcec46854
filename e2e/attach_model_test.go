package e2e

import (
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestMariaDBServerIsTheInstance (issue 8, item 4): on MariaDB the s3bridge
// schema serves the whole server. Attaching through a second database's
// URL changes the same settings, and attach says exactly what changes
// (old → new) instead of merging silently; a re-attach that changes
// nothing says nothing.
func TestMariaDBServerIsTheInstance(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.MariaDB(t)
	db1, _ := mariaNames(t, url)
	admin := openDB(t, "mysql", "root@tcp("+testenv.MariaDBHost()+")/"+db1)
	db2 := db1 + "_two"
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE `"+db2+"`"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP DATABASE IF EXISTS `" + db2 + "`") })
	url2 := strings.Replace(url, "/"+db1+"?", "/"+db2+"?", 1)
	areaA, areaB := t.TempDir(), t.TempDir()

	w.mustCLI("attach", "--db", url, "--area", areaA, "--dir", "EXPORTS="+areaA)
	if out := w.stderrOf("attach", "--db", url, "--area", areaA); strings.Contains(out, "changed ") {
		t.Errorf("a re-attach that changes nothing printed changes:\n%s", out)
	}
	out := w.stderrOf("attach", "--db", url2, "--area", areaB, "--dir", "IMPORTS="+areaB)
	for _, want := range []string{
		"changed area: \"" + areaA + "\" → \"" + areaB + "\"",
		"changed directory IMPORTS: (none) → " + areaB,
		"changed database_name: " + db1 + " → " + db2,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("attach through another database's URL: missing %q in:\n%s", want, out)
		}
	}
	// Both directory objects are there, as the output said.
	contains(t, "settings", w.mustCLI("attach", "--db", url2, "--json"), "EXPORTS", "IMPORTS")
}
