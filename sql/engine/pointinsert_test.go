package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cofferdb/coffer/sql/txn"
)

// TestPointInsertNow: NOW() and its aliases among a single-row insert's
// values take the fast path and store what the analyzer's path stores for
// the same statement start: the start time in the session's time zone,
// cut to the precision asked. A value the column would round goes to the
// analyzer's path, as does a precision out of range.
func TestPointInsertNow(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	query(t, e, ctx, "CREATE TABLE h (k INT NOT NULL, t6 DATETIME(6), t0 DATETIME, ts TIMESTAMP(6), filler CHAR(22))")
	query(t, e, ctx, "SET time_zone = '+05:30'")
	start := time.Date(2026, 11, 27, 10, 20, 30, 123456789, time.Local)
	for i, c := range []struct {
		q      string
		handle bool
	}{
		{"INSERT INTO h (k, t6, t0, ts) VALUES (?, NOW(6), NOW(), CURRENT_TIMESTAMP(6))", true},
		{"INSERT INTO h (k, t6, ts) VALUES (?, LOCALTIMESTAMP(6), LOCALTIME(3))", true},
		{"INSERT INTO h (k, t0) VALUES (?, CURRENT_TIMESTAMP)", true},
		{"INSERT INTO h (k, t0) VALUES (?, NOW(6))", false}, // DATETIME rounds the fraction
		{"INSERT INTO h (k, t6) VALUES (?, now(7))", false},
		{"INSERT INTO h (k, t6) VALUES (?, SYSDATE())", false},
		{"INSERT INTO h (k, filler) VALUES (?, NOW())", false}, // a time for a string column
	} {
		pi := ParsePointInsert(c.q)
		if pi == nil {
			if c.handle {
				t.Errorf("%s: not a point insert", c.q)
			}
			continue
		}
		k := int64(2 * i)
		ctx.SetQueryTime(start)
		before := e.FastHits()
		_, handled, err := e.ExecPointInsert(ctx, pi, func(string) (any, bool) { return k, true })
		if handled != c.handle || err != nil {
			t.Errorf("%s: handled=%v err=%v, want handled=%v", c.q, handled, err, c.handle)
		}
		if handled && e.FastHits() != before+1 {
			t.Errorf("%s: not counted as a fast-path hit", c.q)
		}
		if !handled {
			continue
		}
		// The same statement through the analyzer, at the same start.
		ctx.SetQueryTime(start)
		if _, err := slowWrite(t, e, ctx, c.q, []any{k + 1}); err != nil {
			t.Fatalf("%s through the analyzer: %v", c.q, err)
		}
		fast := fmt.Sprint(query(t, e, ctx, fmt.Sprintf("SELECT t6, t0, ts, filler FROM h WHERE k = %d", k)))
		slow := fmt.Sprint(query(t, e, ctx, fmt.Sprintf("SELECT t6, t0, ts, filler FROM h WHERE k = %d", k+1)))
		if fast != slow || fast == "[]" {
			t.Errorf("%s: fast path stored %s, the analyzer %s", c.q, fast, slow)
		}
	}
	// The session's zone moves the stored time: 10:20:30 local in +05:30.
	want := start.In(time.FixedZone("", 5*3600+1800)).Format("2006-01-02 15:04:05")
	if got := fmt.Sprint(query(t, e, ctx, "SELECT t0 FROM h WHERE k = 0")); got != "[["+want+" +0000 UTC]]" {
		t.Errorf("t0 = %s, want %s", got, want)
	}
}
