package engine

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/cofferdb/coffer/sql/txn"
)

// TestMultiClauseAlter: every clause of a multi-clause ALTER TABLE takes
// effect, the rows keep their values, and the columns end as MySQL leaves
// them (a later rewriting clause used to undo an earlier CHANGE COLUMN).
func TestMultiClauseAlter(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	run := func(q string) string {
		t.Helper()
		return fmt.Sprint(query(t, e, ctx, q))
	}
	cols := func() string {
		t.Helper()
		ddl := run("SHOW CREATE TABLE m")
		var out []string
		for _, m := range regexp.MustCompile("`([a-z0-9]+)` ([a-z]+)").FindAllStringSubmatch(ddl, -1) {
			if m[1] != "m" {
				out = append(out, m[1]+" "+m[2])
			}
		}
		return strings.Join(out, ", ")
	}
	run("CREATE TABLE m (id INT PRIMARY KEY, k INT, c INT)")
	run("INSERT INTO m VALUES (1, 5, 6), (2, 7, 8)")
	for _, c := range []struct{ alter, cols, rows string }{
		{"ALTER TABLE m CHANGE k k2 BIGINT, ADD COLUMN z INT", "id int, k2 bigint, c int, z int", "[[1 5 6 <nil>] [2 7 8 <nil>]]"},
		{"ALTER TABLE m ADD COLUMN a INT, CHANGE k2 k3 INT", "id int, k3 int, c int, z int, a int", "[[1 5 6 <nil> <nil>] [2 7 8 <nil> <nil>]]"},
		{"ALTER TABLE m CHANGE k3 k4 BIGINT, MODIFY a SMALLINT", "id int, k4 bigint, c int, z int, a smallint", "[[1 5 6 <nil> <nil>] [2 7 8 <nil> <nil>]]"},
		{"ALTER TABLE m CHANGE c c2 BIGINT, DROP COLUMN z", "id int, k4 bigint, c2 bigint, a smallint", "[[1 5 6 <nil>] [2 7 8 <nil>]]"},
		{"ALTER TABLE m CHANGE k4 k5 INT AFTER a, ADD COLUMN b INT FIRST", "b int, id int, c2 bigint, a smallint, k5 int", "[[<nil> 1 6 <nil> 5] [<nil> 2 8 <nil> 7]]"},
	} {
		run(c.alter)
		if got := cols(); got != c.cols {
			t.Errorf("%s: columns %s, want %s", c.alter, got, c.cols)
		}
		if got := run("SELECT * FROM m ORDER BY id"); got != c.rows {
			t.Errorf("%s: rows %s, want %s", c.alter, got, c.rows)
		}
	}
}
