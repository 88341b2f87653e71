package pgwire_test

import (
	"context"
	"testing"

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
	if hits := s.Engine().FastHits() - before; hits != 6 {
		t.Errorf("the fast paths answered %d of 6 statements", hits)
	}
}
