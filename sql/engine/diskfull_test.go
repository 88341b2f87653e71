package engine

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	vmysql "github.com/dolthub/vitess/go/mysql"

	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

// TestDiskFull: with less free space than the store's reserve, commits
// fail with MySQL error 1021 and leave nothing behind — an autocommit
// statement, an explicit transaction's COMMIT, the fast insert path —
// while reads go on; once space is back, commits work again.
func TestDiskFull(t *testing.T) {
	var free atomic.Uint64
	free.Store(1 << 40)
	cfg := storage.DefaultConfig(t.TempDir())
	cfg.NoSync = true
	cfg.FreeSpace = func() (uint64, error) { return free.Load(), nil }
	db, err := storage.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e, err := New(Config{DB: db, Proposer: txn.LocalProposer{DB: db}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	exec := func(q string) error {
		_, iter, _, err := e.Query(ctx, q)
		if err == nil {
			_, err = gmssql.RowIterToRows(ctx, iter)
		}
		return err
	}
	diskFull := func(what string, err error) {
		t.Helper()
		var se *vmysql.SQLError
		if !errors.As(gmssql.CastSQLError(err), &se) || se.Num != vmysql.ERDiskFull {
			t.Errorf("%s: got %v, want error 1021 (disk full)", what, err)
		}
	}
	query(t, e, ctx, "CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
	query(t, e, ctx, "INSERT INTO t (v) VALUES (1)")

	free.Store(storage.DefaultMinFreeBytes - 1)
	diskFull("INSERT", exec("INSERT INTO t (v) VALUES (2)"))
	if err := exec("BEGIN"); err != nil {
		t.Fatal(err)
	}
	if err := exec("INSERT INTO t (v) VALUES (3)"); err != nil {
		t.Fatal(err)
	}
	diskFull("COMMIT", exec("COMMIT"))
	_, handled, err := e.ExecPointInsert(ctx, ParsePointInsert("INSERT INTO t (v) VALUES (?)"), func(string) (any, bool) { return int64(4), true })
	if !handled {
		t.Fatal("the fast insert path declined")
	}
	diskFull("fast INSERT", err)
	diskFull("CREATE TABLE", exec("CREATE TABLE u (id INT PRIMARY KEY)"))
	if got := fmt.Sprint(query(t, e, ctx, "SELECT v FROM t ORDER BY id")); got != "[[1]]" {
		t.Errorf("rows while the disk is full: %s", got)
	}

	free.Store(storage.DefaultMinFreeBytes)
	query(t, e, ctx, "INSERT INTO t (v) VALUES (5)")
	if got := fmt.Sprint(query(t, e, ctx, "SELECT v FROM t ORDER BY id")); got != "[[1] [5]]" {
		t.Errorf("rows after space is freed: %s", got)
	}
}
