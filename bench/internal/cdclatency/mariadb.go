package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// connectMariaDB opens the MariaDB database of a mysql://USER@HOST:PORT/DB
// URL (the pipeline's --source; its query, such as server_id, is the
// pipeline's and ignored here), with the password from MYSQL_PWD as the
// mariadb client takes it. Each insert is one autocommitted statement:
// the rows from MariaDB's sequence engine (seq_LO_to_HI), so no
// statement text grows with the transaction.
func connectMariaDB(ctx context.Context, o options) (insertFunc, func(), error) {
	u, err := url.Parse(o.db)
	if err != nil {
		return nil, nil, fmt.Errorf("parse the MariaDB URL: %w", err)
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd = os.Getenv("MYSQL_PWD")
	cfg.Net, cfg.Addr = "tcp", u.Host
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", u.Redacted(), err)
	}
	// One connection: the transactions commit in the order generate runs them.
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("connect to %s: %w", u.Redacted(), err)
	}
	table := "`" + strings.ReplaceAll(o.table, "`", "``") + "`"
	insert := func(ctx context.Context, lo, hi int64) error {
		_, err := db.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s SELECT seq, CONCAT('name ', seq), (seq %% 100000) / 100.0, seq %% 1000, "+
			"TIMESTAMP '2026-01-01 00:00:00' + INTERVAL seq SECOND, seq %% 2 = 0, seq * 0.5, MD5(seq) FROM seq_%d_to_%d", table, lo, hi))
		return err
	}
	return insert, func() { db.Close() }, nil
}
