package mysource

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/mysqlproto"
)

// ready are the facts of a server where nothing is missing.
func ready() facts {
	return facts{version: "10.11.6-MariaDB", user: "repl@%", mariaDB: true, logBin: true, binlogFormat: "ROW", rowImage: "FULL",
		rowMetadata: "FULL", compress: "OFF", serverID: 1, clientID: 1 << 31, retention: 7 * 24 * time.Hour,
		retentionVar: "binlog_expire_logs_seconds", binlogMonitor: true,
		tables: []tableFacts{{t: Table{Schema: "shop", Name: "orders"}, readable: true, primary: true, engine: "InnoDB", transacted: true}}}
}

// TestProblems: each missing prerequisite is one problem, blocking or
// not, with its fix; a ready server has only the retention note.
func TestProblems(t *testing.T) {
	denied := &mysqlproto.Error{Code: errSpecificAccessDenied, Message: "Access denied; you need (at least one of) the REPLICATION SLAVE privilege(s)"}
	for _, tc := range []struct {
		name     string
		change   func(*facts)
		blocking bool
		what     string // in the problem's What
		fix      string // in its Fix
	}{
		{"log_bin", func(f *facts) { f.logBin = false }, true, "binary log is off", "restart the server"},
		{"binlog_format", func(f *facts) { f.binlogFormat = "MIXED" }, true, "binlog_format is MIXED", "SET GLOBAL binlog_format = 'ROW'"},
		{"binlog_row_image", func(f *facts) { f.rowImage = "MINIMAL" }, true, "binlog_row_image is MINIMAL", "SET GLOBAL binlog_row_image = 'FULL'"},
		{"binlog_row_metadata", func(f *facts) { f.rowMetadata = "MINIMAL" }, true, "binlog_row_metadata is MINIMAL", "SET GLOBAL binlog_row_metadata = 'FULL'"},
		{"binlog_row_metadata missing", func(f *facts) { f.rowMetadata = "" }, true, "before 10.5", "upgrade"},
		{"log_bin_compress", func(f *facts) { f.compress = "ON" }, true, "log_bin_compress is ON", "log_bin_compress = OFF"},
		{"server_id 0", func(f *facts) { f.serverID = 0 }, true, "server_id is 0", "SET GLOBAL server_id"},
		{"server_id ours", func(f *facts) { f.serverID = f.clientID }, true, "the server's own server_id", "?server_id=N"},
		{"BINLOG MONITOR", func(f *facts) { f.binlogMonitor = false }, true, "(BINLOG MONITOR)", "GRANT BINLOG MONITOR ON *.* TO 'repl'@'%';"},
		{"REPLICATION SLAVE", func(f *facts) { f.replication = fmt.Errorf("register: %w", denied) }, true, "(REPLICATION SLAVE)", "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';"},
		{"SELECT", func(f *facts) { f.tables[0] = tableFacts{t: f.tables[0].t, denied: true} }, true, "may not SELECT from table shop.orders",
			"GRANT SELECT ON `shop`.`orders` TO 'repl'@'%';"},
		{"missing table", func(f *facts) { f.tables[0] = tableFacts{t: f.tables[0].t, missing: true} }, true, "shop.orders does not exist", "create it"},
		{"no primary key", func(f *facts) { f.tables[0].primary = false }, false, "has no primary key: with binlog_row_image=FULL its updates and deletes still log the whole row",
			"ADD PRIMARY KEY"},
		{"MyISAM", func(f *facts) { f.tables[0].engine, f.tables[0].transacted = "MyISAM", false }, false, "uses the MyISAM engine", "ENGINE = InnoDB"},
		{"unsupported types", func(f *facts) { f.tables[0].unsupported = []string{"b (blob /*m!100301 compressed*/)", "u (uuid)"} }, true,
			"shop.orders has columns of types pipelines don't take: b (blob /*m!100301 compressed*/), u (uuid)", "MODIFY the column"},
		{"MySQL", func(f *facts) { f.mariaDB, f.version = false, "8.0.36" }, true, "is 8.0.36, not MariaDB", "FLUSH TABLES WITH READ LOCK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ready()
			f.tables = append([]tableFacts(nil), f.tables...)
			tc.change(&f)
			got := problems(f, Publication{Tables: []Table{{Schema: "shop", Name: "orders"}}})
			var found []Problem
			for _, p := range got {
				if !strings.Contains(p.What, "keeps its binary logs") {
					found = append(found, p)
				}
			}
			if len(found) != 1 {
				t.Fatalf("problems %v, want one", found)
			}
			p := found[0]
			if p.Blocking != tc.blocking || !strings.Contains(p.What, tc.what) || !strings.Contains(p.Fix, tc.fix) {
				t.Errorf("got %+v (blocking %t), want blocking %t, what ~ %q, fix ~ %q", p, p.Blocking, tc.blocking, tc.what, tc.fix)
			}
		})
	}
	got := problems(ready(), Publication{})
	if len(got) != 1 || got[0].Blocking || !strings.Contains(got[0].What, "keeps its binary logs 7 days (binlog_expire_logs_seconds)") {
		t.Errorf("ready server: %v, want the retention note only", got)
	}
	f := ready()
	f.retention = 0
	if got := problems(f, Publication{}); len(got) != 1 || !strings.Contains(got[0].What, "until they are purged by hand") {
		t.Errorf("no expiry: %v", got)
	}
}

// TestCheck runs Check against the test server, as root: the server is
// ready, and the tables' problems are found.
func TestCheck(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `ok` (`id` INT PRIMARY KEY)", "CREATE TABLE `nokey` (`a` INT, `b` TEXT)",
		"CREATE TABLE `mine` (`id` INT PRIMARY KEY) ENGINE=MyISAM",
		"CREATE TABLE `packed` (`id` INT PRIMARY KEY, `b` BLOB COMPRESSED, `u` UUID, `v` VARCHAR(10))")
	s := e.source()
	got, err := s.Check(t.Context(), Publication{Tables: []Table{e.table("ok"), e.table("nokey"), e.table("mine"), e.table("gone"), e.table("packed")}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{ // What's start, blocking
		"table " + e.name + ".nokey has no primary key": false,
		"table " + e.name + ".mine uses the MyISAM":     false,
		"table " + e.name + ".gone does not exist":      true,
		// The snapshot would refuse them, or the stream, at the table's
		// first change: refused before anything is stored.
		"table " + e.name + ".packed has columns of types pipelines don't take: b (blob /*m!100301 compressed*/), u (uuid)": true,
		"the server keeps its binary logs": false,
	}
	if len(got) != len(want) {
		t.Errorf("problems %v, want %d", got, len(want))
	}
	for _, p := range got {
		found := false
		for prefix, blocking := range want {
			if strings.HasPrefix(p.What, prefix) {
				found = true
				if p.Blocking != blocking {
					t.Errorf("%s: blocking %t, want %t", p.What, p.Blocking, blocking)
				}
			}
		}
		if !found {
			t.Errorf("unexpected problem: %s", p)
		}
	}
	// Every table of the database: the same tables' problems.
	all, err := s.Check(t.Context(), Publication{AllTables: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Errorf("all tables: %v, want the three tables' and the retention note", all)
	}
}

// TestCheckGrants runs Check as a user without grants, then with the
// grants it names: the grants' problems, then none.
func TestCheckGrants(t *testing.T) {
	e := newEnv(t, "CREATE TABLE `t` (`id` INT PRIMARY KEY)")
	var b [6]byte
	rand.Read(b[:])
	user, pass := "s3b_"+hex.EncodeToString(b[:]), hex.EncodeToString(b[:])+"Pw!"
	e.exec(fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, pass))
	t.Cleanup(func() { e.db.ExecContext(context.Background(), fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", user)) })
	u, _ := url.Parse(e.url)
	u.User = url.UserPassword(user, pass)
	s, err := New(u.String(), "p", Publication{})
	if err != nil {
		t.Fatal(err)
	}
	pub := Publication{Tables: []Table{e.table("t")}}
	check := func() []string {
		t.Helper()
		got, err := s.Check(t.Context(), pub)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range got {
			if p.Blocking {
				out = append(out, p.String())
			}
		}
		return out
	}
	got := check()
	for _, want := range []string{"GRANT BINLOG MONITOR ON *.* TO '" + user + "'@'%';", "GRANT REPLICATION SLAVE ON *.* TO '" + user + "'@'%';",
		"GRANT SELECT ON `" + e.name + "`.`t` TO '" + user + "'@'%';"} {
		found := false
		for _, p := range got {
			found = found || strings.Contains(p, want)
		}
		if !found {
			t.Errorf("no problem with the fix %q in %q", want, got)
		}
	}
	if len(got) != 3 {
		t.Errorf("%d blocking problems, want 3: %q", len(got), got)
	}
	e.exec(fmt.Sprintf("GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '%s'@'%%'", user))
	e.exec(fmt.Sprintf("GRANT SELECT ON `%s`.* TO '%s'@'%%'", e.name, user))
	if got := check(); len(got) != 0 {
		t.Errorf("with the grants: %q, want no blocking problem", got)
	}
}
