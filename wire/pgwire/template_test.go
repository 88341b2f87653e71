package pgwire

import (
	"slices"
	"testing"
)

func TestTemplateOf(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		vals     []int64
	}{
		{"UPDATE pgbench_accounts SET abalance = abalance + -2826 WHERE aid = 51633;",
			"UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2", []int64{-2826, 51633}},
		{"INSERT INTO t VALUES (1, -2,3)", "INSERT INTO t VALUES ($1, $2,$3)", []int64{1, -2, 3}},
		{"SELECT a + 1, -2 FROM t WHERE id = 5 LIMIT 3", "SELECT a + 1, -2 FROM t WHERE id = $1 LIMIT 3", []int64{5}},
		{"select * from t2 where id in (1,2) and x >= -7", "select * from t2 where id in ($1,$2) and x >= $3", []int64{1, 2, -7}},
		{"DELETE FROM t WHERE id = 3 - 1", "DELETE FROM t WHERE id = $1 - $2", []int64{3, 1}},
		{"UPDATE t1 SET c2 = 3 WHERE id = 4", "UPDATE t1 SET c2 = $1 WHERE id = $2", []int64{3, 4}},
		{`UPDATE "T" SET "a""b" = 2 WHERE id<>9`, `UPDATE "T" SET "a""b" = $1 WHERE id<>$2`, []int64{2, 9}},
		{"BEGIN ISOLATION LEVEL READ COMMITTED", "BEGIN ISOLATION LEVEL READ COMMITTED", nil},
		{"END;", "END", nil},
	} {
		got, vals, ok := templateOf(tc.in)
		if !ok || got != tc.want || !slices.Equal(vals, tc.vals) {
			t.Errorf("templateOf(%q) = %q, %v, %v; want %q, %v", tc.in, got, vals, ok, tc.want, tc.vals)
		}
	}
	for _, in := range []string{
		"UPDATE t SET s = 'x' WHERE id = 1",
		"UPDATE t SET s = E'x' WHERE id = 1",
		"SELECT a::int FROM t WHERE id = 1",
		"UPDATE t SET a = 1.5 WHERE id = 1",
		"UPDATE t SET a = 1e3 WHERE id = 1",
		"UPDATE t SET a = $1 WHERE id = 1",
		"UPDATE t SET a = $$x$$ WHERE id = 1",
		"DELETE FROM t WHERE id = 1; DELETE FROM t",
		"UPDATE t -- note\nSET a = 1",
		"UPDATE t /* note */ SET a = 1",
		"UPDATE t SET a = 99999999999999999999 WHERE id = 1",
		"CREATE TABLE t (a int)",
		"WITH x AS (SELECT 1) SELECT * FROM x",
		"",
	} {
		if got, vals, ok := templateOf(in); ok {
			t.Errorf("templateOf(%q) = %q, %v; want no template", in, got, vals)
		}
	}
}

func TestTemplateCurrent(t *testing.T) {
	tp := &template{read: []columnRead{{"acct", "bal", oidInt4}}}
	types := map[string]uint32{"acct.bal": oidInt4}
	lookup := func(table, column string) uint32 { return types[table+"."+column] }
	if !tp.current(lookup) {
		t.Fatal("unchanged column types: not current")
	}
	types["acct.bal"] = oidInt8
	if tp.current(lookup) {
		t.Fatal("a column whose type changed: still current")
	}
	if !(&template{}).current(lookup) {
		t.Fatal("a template that read no column types: not current")
	}
}
