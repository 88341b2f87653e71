package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/cofferdb/coffer/sql/txn"
)

// TestFastPathsCountStatements: statements the fast paths answer count in
// the status variables Questions and Com_<kind>, the session's and the
// global ones, as the statements go-mysql-server runs do (the session
// counts in its own fields until SHOW STATUS reads them).
func TestFastPathsCountStatements(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := e.NewContext(context.Background(), txn.Principal{Name: "admin"})
	query(t, e, ctx, "CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, k INT NOT NULL)")

	status := func(scope, name string) int64 {
		t.Helper()
		rows := query(t, e, ctx, fmt.Sprintf("SHOW %s STATUS LIKE '%s'", scope, name))
		if len(rows) != 1 {
			t.Fatalf("SHOW %s STATUS LIKE '%s': %v", scope, name, rows)
		}
		var n int64
		if _, err := fmt.Sscan(fmt.Sprint(rows[0][1]), &n); err != nil {
			t.Fatalf("%s %s = %v: %v", scope, name, rows[0][1], err)
		}
		return n
	}
	names := []string{"Questions", "Com_insert", "Com_select", "Com_update", "Com_delete"}
	before := map[string]int64{}
	for _, scope := range []string{"SESSION", "GLOBAL"} {
		for _, n := range names {
			before[scope+n] = status(scope, n)
		}
	}

	ins := ParsePointInsert("INSERT INTO t (k) VALUES (?)")
	for i := range 3 {
		if _, handled, err := e.ExecPointInsert(ctx, ins, writeArg([]any{i})); !handled || err != nil {
			t.Fatalf("insert %d: handled %v, %v", i, handled, err)
		}
	}
	for i := 1; i <= 2; i++ {
		if _, handled, err := fastWrite(e, ctx, "UPDATE t SET k = k + 1 WHERE id = ?", []any{i}); !handled || err != nil {
			t.Fatalf("update %d: handled %v, %v", i, handled, err)
		}
	}
	if _, handled, err := fastWrite(e, ctx, "DELETE FROM t WHERE id = ?", []any{3}); !handled || err != nil {
		t.Fatalf("delete: handled %v, %v", handled, err)
	}
	for i := 1; i <= 4; i++ {
		if _, handled, err := e.ExecPointSelect(ctx, ParsePointSelect("SELECT k FROM t WHERE id = ?"), func(string) (any, bool) { return int64(i), true }); !handled || err != nil {
			t.Fatalf("select %d: handled %v, %v", i, handled, err)
		}
	}

	// Each SHOW STATUS above is a question of its own (go-mysql-server
	// counts it as it runs it); the fast statements add 3 + 2 + 1 + 4.
	want := map[string]int64{"Com_insert": 3, "Com_update": 2, "Com_delete": 1, "Com_select": 4}
	for _, scope := range []string{"SESSION", "GLOBAL"} {
		for _, n := range names[1:] {
			if got := status(scope, n) - before[scope+n]; got != want[n] {
				t.Errorf("%s %s moved by %d, want %d", scope, n, got, want[n])
			}
		}
	}
	if got := status("SESSION", "Questions") - before["SESSIONQuestions"]; got < 10 {
		t.Errorf("SESSION Questions moved by %d, want at least the 10 fast statements", got)
	}
}
