package pgwire_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestCancel: a CancelRequest (pgx sends one when the context ends)
// interrupts a long statement.
func TestCancel(t *testing.T) {
	s := startServer(t)
	c := connect(t, s, pgx.QueryExecModeSimpleProtocol)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	var n int64
	err := c.QueryRow(ctx, `SELECT count(*) FROM generate_series(1, 50000000) AS g`).Scan(&n)
	if err == nil {
		t.Fatalf("long query finished (%d) instead of being canceled", n)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("cancel took %v", d)
	}
}
