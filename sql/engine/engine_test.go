package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	gmssql "github.com/dolthub/go-mysql-server/sql"

	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

func newTestEngine(t *testing.T, dir string) (*Engine, *storage.DB) {
	t.Helper()
	cfg := storage.DefaultConfig(dir)
	cfg.NoSync = true
	db, err := storage.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{DB: db, Proposer: txn.LocalProposer{DB: db}})
	if err != nil {
		t.Fatal(err)
	}
	return e, db
}

func query(t *testing.T, e *Engine, ctx *gmssql.Context, q string) []gmssql.Row {
	t.Helper()
	_, iter, _, err := e.Query(ctx, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	rows, err := gmssql.RowIterToRows(ctx, iter)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return rows
}

func TestSmoke(t *testing.T) {
	dir := t.TempDir()
	e, db := newTestEngine(t, dir)
	ctx := e.NewContext(context.Background(), txn.Principal{Name: "admin"})
	for _, q := range []string{
		"CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(20) NOT NULL DEFAULT 'x', v DECIMAL(10,2), UNIQUE KEY (name), KEY (v))",
		"INSERT INTO t (name, v) VALUES ('a', 1.5), ('b', 2.5), ('c', NULL)",
		"UPDATE t SET v = v + 1 WHERE name = 'b'",
		"DELETE FROM t WHERE id = 1",
		"CREATE TABLE u (id INT PRIMARY KEY, tid INT, FOREIGN KEY (tid) REFERENCES t(id), CHECK (id > 0))",
		"INSERT INTO u VALUES (1, 2)",
		"ALTER TABLE t ADD COLUMN extra INT DEFAULT 7",
	} {
		query(t, e, ctx, q)
	}
	got := fmt.Sprint(query(t, e, ctx, "SELECT id, name, v, extra FROM t ORDER BY id"))
	want := "[[2 b 3.5 7] [3 c <nil> 7]]"
	if got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	got = fmt.Sprint(query(t, e, ctx, "SELECT id FROM t WHERE name = 'c'"))
	if got != "[[3]]" {
		t.Fatalf("index lookup: %s", got)
	}
	if _, iter, _, err := e.Query(ctx, "INSERT INTO t (name) VALUES ('b')"); err == nil {
		if _, err = gmssql.RowIterToRows(ctx, iter); err == nil {
			t.Fatal("duplicate unique key accepted")
		}
	}
	if _, iter, _, err := e.Query(ctx, "INSERT INTO u VALUES (2, 99)"); err == nil {
		if _, err = gmssql.RowIterToRows(ctx, iter); err == nil {
			t.Fatal("foreign key violation accepted")
		}
	}
	db.Close()

	e2, _ := newTestEngine(t, dir)
	ctx2 := e2.NewContext(context.Background(), txn.Principal{Name: "admin"})
	got = fmt.Sprint(query(t, e2, ctx2, "SELECT id, name, v, extra FROM t ORDER BY id"))
	if got != want {
		t.Fatalf("after reopen got %s want %s", got, want)
	}
	query(t, e2, ctx2, "INSERT INTO t (name) VALUES ('d')")
	got = fmt.Sprint(query(t, e2, ctx2, "SELECT id FROM t WHERE name = 'd'"))
	if got != "[[4]]" {
		t.Fatalf("auto increment after reopen: %s", got)
	}
}

// TestWritesConflictWithSchemaChange: a transaction that wrote rows of a
// table depends on the table's descriptor (Transaction.Check, once per
// table however many rows): a schema change committed meanwhile makes its
// commit fail with a conflict and none of its rows land, while a change
// to a table it did not write leaves it alone.
func TestWritesConflictWithSchemaChange(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	a := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	b := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	for _, q := range []string{"CREATE TABLE t (id INT PRIMARY KEY)", "CREATE TABLE u (id INT PRIMARY KEY)", "CREATE TABLE w (id INT PRIMARY KEY)"} {
		query(t, e, a, q)
	}
	query(t, e, a, "BEGIN")
	query(t, e, a, "INSERT INTO t VALUES (1)")
	query(t, e, a, "INSERT INTO t VALUES (2)")
	query(t, e, a, "INSERT INTO u VALUES (1)")
	query(t, e, b, "ALTER TABLE w ADD COLUMN v INT") // not written by a
	query(t, e, a, "COMMIT")
	if got := fmt.Sprint(query(t, e, b, "SELECT COUNT(*) FROM t")); got != "[[2]]" {
		t.Fatalf("after a change to another table: t has %s rows, want 2", got)
	}

	query(t, e, a, "BEGIN")
	query(t, e, a, "INSERT INTO t VALUES (3)")
	query(t, e, a, "INSERT INTO u VALUES (2)")
	query(t, e, a, "INSERT INTO t VALUES (4)")
	query(t, e, b, "ALTER TABLE u ADD COLUMN v INT")
	_, iter, _, err := e.Query(a, "COMMIT")
	if err == nil {
		_, err = gmssql.RowIterToRows(a, iter)
	}
	if !errors.Is(err, storage.ErrConflict) && !strings.Contains(fmt.Sprint(err), "onflict") {
		t.Fatalf("COMMIT after a concurrent ALTER of a written table: %v, want a conflict", err)
	}
	if got := fmt.Sprint(query(t, e, b, "SELECT COUNT(*) FROM t")); got != "[[2]]" {
		t.Errorf("after the conflict: t has %s rows, want 2", got)
	}
}
