package binlog

import "testing"

// TestElsewhere: a DML statement logged as text is skipped only when it
// neither runs in nor names a captured database.
func TestElsewhere(t *testing.T) {
	for _, c := range []struct {
		databases []string
		database  string
		sql       string
		skip      bool
	}{
		{nil, "other", "UPDATE t SET a = 1", false},
		{[]string{"shop"}, "other", "UPDATE t SET a = 1", true},
		{[]string{"shop"}, "shop", "UPDATE t SET a = 1", false},
		{[]string{"shop"}, "SHOP", "UPDATE t SET a = 1", false},
		{[]string{"shop"}, "other", "UPDATE shop.t SET a = 1", false},
		{[]string{"shop"}, "other", "INSERT INTO `Shop`.`t` VALUES (1)", false},
		{[]string{"shop"}, "", "DELETE FROM t", true},
		{[]string{"shop", "crm"}, "other", "UPDATE x JOIN crm.y SET x.a = 1", false},
	} {
		d := &decoder{databases: c.databases}
		if got := d.elsewhere(c.database, c.sql); got != c.skip {
			t.Errorf("databases %v, in %q: %q skipped %t, want %t", c.databases, c.database, c.sql, got, c.skip)
		}
	}
}

// TestSplitQualified: the table a TRUNCATE names, quoted or not,
// qualified or not.
func TestSplitQualified(t *testing.T) {
	for _, c := range []struct{ in, db, table string }{
		{"orders", "shop", "orders"},
		{"`orders`", "shop", "orders"},
		{"crm.orders", "crm", "orders"},
		{"`crm`.`or``ders`;", "crm", "or`ders"},
		{"`a.b`", "shop", "a.b"},
		{" orders ;", "shop", "orders"},
	} {
		db, table := splitQualified(c.in, "shop")
		if db != c.db || table != c.table {
			t.Errorf("splitQualified(%q) = %q, %q; want %q, %q", c.in, db, table, c.db, c.table)
		}
	}
}
