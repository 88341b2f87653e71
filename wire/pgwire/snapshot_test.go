package pgwire_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestFirstStatementSnapshot: a connection's first statement reads what
// was committed before it ran, not the snapshot of the catalog read at
// connect time.
func TestFirstStatementSnapshot(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	writer := connect(t, s, pgx.QueryExecModeSimpleProtocol)
	mustExec(t, writer, `CREATE TABLE seen (id INT PRIMARY KEY)`)
	for i, m := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		reader := connect(t, s, m)
		mustExec(t, writer, `INSERT INTO seen VALUES ($1)`, i)
		var n int
		want := i + 1
		if err := reader.QueryRow(ctx, `SELECT count(*) FROM seen`).Scan(&n); err != nil || n != want {
			t.Fatalf("mode %v: first statement sees %d rows (%v), want %d", m, n, err, want)
		}
	}
}
