package pgwire_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestFastPaths: over the extended protocol, single-row inserts of
// parameters and primary-key point selects are answered by the engine's
// fast paths, with the results PostgreSQL clients expect.
func TestFastPaths(t *testing.T) {
	s := startServer(t)
	c := connect(t, s, pgx.QueryExecModeCacheStatement)
	ctx := context.Background()
	mustExec(t, c, "CREATE TABLE fp (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, n BIGINT)")
	before := s.Engine().FastHits()
	for i, name := range []string{"a", "b", "c"} {
		if tag := mustExec(t, c, "INSERT INTO fp (id, name, n) VALUES ($1, $2, $3)", int64(i+1), name, int64(10*i)); tag.String() != "INSERT 0 1" {
			t.Fatalf("insert tag %q", tag)
		}
	}
	if _, err := c.Exec(ctx, "INSERT INTO fp (id, name, n) VALUES ($1, $2, $3)", int64(1), "dup", int64(0)); sqlState(err) != "23505" {
		t.Fatalf("duplicate key: %v (SQLSTATE %s), want 23505", err, sqlState(err))
	}
	var name string
	var n int64
	if err := c.QueryRow(ctx, "SELECT name, n FROM fp WHERE id = $1", int64(2)).Scan(&name, &n); err != nil || name != "b" || n != 10 {
		t.Fatalf("point select: %q %d %v", name, n, err)
	}
	if err := c.QueryRow(ctx, "SELECT name FROM fp WHERE id = $1", int64(9)).Scan(&name); err != pgx.ErrNoRows {
		t.Fatalf("missing row: %v", err)
	}
	rows, err := c.Query(ctx, "SELECT name FROM fp WHERE id BETWEEN $1 AND $2 ORDER BY name DESC", int64(1), int64(3))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if rows.Err() != nil || strings.Join(names, ",") != "c,b,a" {
		t.Fatalf("range select: %v %v", names, rows.Err())
	}
	var sum float64
	if err := c.QueryRow(ctx, "SELECT SUM(n) FROM fp WHERE id BETWEEN $1 AND $2", int64(2), int64(9)).Scan(&sum); err != nil || sum != 30 {
		t.Fatalf("range sum: %v %v", sum, err)
	}
	if hits := s.Engine().FastHits() - before; hits != 8 {
		t.Errorf("the fast paths answered %d of 8 statements", hits)
	}
}

// TestFastPathWrites: over the extended protocol, primary-key updates and
// deletes of parameters are answered by the engine's fast path, with
// PostgreSQL's command tags (UPDATE counts matched rows, changed or not)
// and errors.
func TestFastPathWrites(t *testing.T) {
	s := startServer(t)
	c := connect(t, s, pgx.QueryExecModeCacheStatement)
	ctx := context.Background()
	mustExec(t, c, "CREATE TABLE fw (id INT PRIMARY KEY, k INT NOT NULL, c VARCHAR(20) NOT NULL, UNIQUE (c))")
	mustExec(t, c, "CREATE INDEX fw_k ON fw (k)")
	for i := int64(1); i <= 3; i++ {
		mustExec(t, c, "INSERT INTO fw (id, k, c) VALUES ($1, $2, $3)", i, 10*i, "c"+strconv.FormatInt(i, 10))
	}
	before := s.Engine().FastHits()
	for _, w := range []struct {
		q    string
		args []any
		tag  string
	}{
		{"UPDATE fw SET k = k + 1 WHERE id = $1", []any{int64(1)}, "UPDATE 1"},
		{"UPDATE fw SET k = k + 1 WHERE id = $1", []any{int64(9)}, "UPDATE 0"},
		{"UPDATE fw SET c = $1 WHERE id = $2", []any{"new", int64(2)}, "UPDATE 1"},
		{"UPDATE fw SET c = $1 WHERE id = $2", []any{"new", int64(2)}, "UPDATE 1"}, // unchanged, still matched
		{"DELETE FROM fw WHERE id = $1", []any{int64(3)}, "DELETE 1"},
		{"DELETE FROM fw WHERE id = $1", []any{int64(3)}, "DELETE 0"},
	} {
		if tag := mustExec(t, c, w.q, w.args...); tag.String() != w.tag {
			t.Errorf("%s %v: tag %q, want %q", w.q, w.args, tag, w.tag)
		}
	}
	if _, err := c.Exec(ctx, "UPDATE fw SET c = $1 WHERE id = $2", "c1", int64(2)); sqlState(err) != "23505" {
		t.Errorf("duplicate key: %v (SQLSTATE %s), want 23505", err, sqlState(err))
	}
	if hits := s.Engine().FastHits() - before; hits != 7 {
		t.Errorf("the fast path answered %d of 7 statements", hits)
	}
	var k int64
	var cv string
	if err := c.QueryRow(ctx, "SELECT k, c FROM fw WHERE id = $1", int64(1)).Scan(&k, &cv); err != nil || k != 11 || cv != "c1" {
		t.Errorf("row 1: %d %q %v", k, cv, err)
	}
	var n int64
	if err := c.QueryRow(ctx, "SELECT COUNT(*) FROM fw WHERE k = 11").Scan(&n); err != nil || n != 1 {
		t.Errorf("index lookup of the new k: %d %v", n, err)
	}
	if err := c.QueryRow(ctx, "SELECT COUNT(*) FROM fw WHERE k = 10 OR k = 30").Scan(&n); err != nil || n != 0 {
		t.Errorf("old index entries: %d %v", n, err)
	}
}

// TestFastPathTransactionControl: BEGIN, COMMIT and ROLLBACK (and their
// failures) are answered by the engine's transaction-control fast path,
// with the wire's own transaction states around them.
func TestFastPathTransactionControl(t *testing.T) {
	s := startServer(t)
	a, b := connect(t, s, pgx.QueryExecModeCacheStatement), connect(t, s, pgx.QueryExecModeCacheStatement)
	ctx := context.Background()
	mustExec(t, a, "CREATE TABLE tc (id INT PRIMARY KEY, n INT NOT NULL)")
	mustExec(t, a, "INSERT INTO tc VALUES (1, 0)")
	before := s.Engine().FastHits()
	mustExec(t, a, "BEGIN")
	mustExec(t, a, "UPDATE tc SET n = 5 WHERE id = 1 AND n >= 0") // no row lock: the conflict shows at COMMIT
	mustExec(t, a, "ROLLBACK")
	mustExec(t, a, "BEGIN")
	mustExec(t, a, "UPDATE tc SET n = 7 WHERE id = 1 AND n >= 0")
	mustExec(t, b, "BEGIN")
	mustExec(t, b, "UPDATE tc SET n = 9 WHERE id = 1 AND n >= 0")
	mustExec(t, a, "COMMIT")
	if _, err := b.Exec(ctx, "COMMIT"); sqlState(err) != "40001" {
		t.Fatalf("second commit: %v (SQLSTATE %s), want 40001", err, sqlState(err))
	}
	// The failed commit ended b's transaction.
	if tag := mustExec(t, b, "UPDATE tc SET n = n + 1 WHERE id = $1", int64(1)); tag.String() != "UPDATE 1" {
		t.Fatalf("after the failed commit: %q", tag)
	}
	var n int64
	if err := a.QueryRow(ctx, "SELECT n FROM tc WHERE id = $1", int64(1)).Scan(&n); err != nil || n != 8 {
		t.Fatalf("n = %d, %v; want 8 (7 committed, then + 1)", n, err)
	}
	// 6 BEGIN/COMMIT/ROLLBACK (the failed COMMIT too), the update and
	// the select by key.
	if hits := s.Engine().FastHits() - before; hits != 8 {
		t.Errorf("the fast paths answered %d of 8 statements", hits)
	}
}

// TestFastPathHistoryInsert: pgbench's history insert, a simple-protocol
// query whose last value is CURRENT_TIMESTAMP, into a table without a
// primary key, is answered by the fast path (the translation's NOW(6)),
// and stores the statement's time to the microsecond.
func TestFastPathHistoryInsert(t *testing.T) {
	s := startServer(t)
	c := connect(t, s, pgx.QueryExecModeSimpleProtocol)
	ctx := context.Background()
	mustExec(t, c, "CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))")
	before := s.Engine().FastHits()
	start := time.Now().UTC().Truncate(time.Microsecond)
	for i := range 3 {
		q := fmt.Sprintf("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (%d, 1, %d, -%d, CURRENT_TIMESTAMP);", i+1, 100+i, 7*i)
		if tag := mustExec(t, c, q); tag.String() != "INSERT 0 1" {
			t.Fatalf("insert tag %q", tag)
		}
	}
	end := time.Now().UTC()
	if hits := s.Engine().FastHits() - before; hits != 3 {
		t.Errorf("the fast path answered %d of 3 inserts", hits)
	}
	rows, err := c.Query(ctx, "SELECT aid, delta, mtime FROM pgbench_history ORDER BY aid")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var aid, delta int64
		var mtime time.Time
		if err := rows.Scan(&aid, &delta, &mtime); err != nil {
			t.Fatal(err)
		}
		if aid != int64(100+n) || delta != int64(-7*n) || mtime.Before(start) || mtime.After(end) {
			t.Errorf("row %d: aid %d delta %d mtime %v, want %d, %d and a time in [%v, %v]", n, aid, delta, mtime, 100+n, -7*n, start, end)
		}
		n++
	}
	if rows.Err() != nil || n != 3 {
		t.Fatalf("%d rows, %v", n, rows.Err())
	}
}
