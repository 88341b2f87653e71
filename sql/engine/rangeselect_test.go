package engine

import (
	"context"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"

	gmssql "github.com/dolthub/go-mysql-server/sql"

	"github.com/cofferdb/coffer/sql/txn"
)

func TestParseRangeSelect(t *testing.T) {
	for _, q := range []string{
		"SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?",
		"SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c",
		"SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c",
		"SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ?",
		"SELECT * FROM db.t AS x WHERE x.id BETWEEN ? AND ? ORDER BY x.c DESC",
		"select a, b from t where id between ? and ? order by b asc",
		"SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ? AND ?",
		"SELECT sum( x.k ) FROM t x WHERE x.id BETWEEN ? AND ?",
		"SELECT sum(`n`) AS `sum` FROM `fp` WHERE (`id` BETWEEN :v1 AND :v2)",
		"SELECT `name` FROM `fp` WHERE ((`id` BETWEEN :v1 AND :v2)) ORDER BY `name` DESC",
	} {
		if ParseRangeSelect(q) == nil {
			t.Errorf("%q: not recognized", q)
		}
	}
	for _, q := range []string{
		"SELECT c FROM t WHERE id BETWEEN 1 AND ?",
		"SELECT c FROM t WHERE id NOT BETWEEN ? AND ?",
		"SELECT c FROM t WHERE id BETWEEN ? AND ? AND c = ?",
		"SELECT c FROM t WHERE id BETWEEN ? AND ? ORDER BY c, id",
		"SELECT c FROM t WHERE id BETWEEN ? AND ? ORDER BY c + 1",
		"SELECT c FROM t WHERE id BETWEEN ? AND ? LIMIT 5",
		"SELECT c FROM t WHERE id BETWEEN ? AND ? FOR UPDATE",
		"SELECT DISTINCT c, d FROM t WHERE id BETWEEN ? AND ?",
		"SELECT DISTINCT c FROM t WHERE id BETWEEN ? AND ? ORDER BY d",
		"SELECT DISTINCT * FROM t WHERE id BETWEEN ? AND ?",
		"SELECT SQL_CALC_FOUND_ROWS c FROM t WHERE id BETWEEN ? AND ?",
		"SELECT SUM(k) FROM t WHERE id BETWEEN ? AND ? ORDER BY k",
		"SELECT SUM(DISTINCT k) FROM t WHERE id BETWEEN ? AND ?",
		"SELECT SUM(k), c FROM t WHERE id BETWEEN ? AND ?",
		"SELECT SUM(k + 1) FROM t WHERE id BETWEEN ? AND ?",
		"SELECT COUNT(k) FROM t WHERE id BETWEEN ? AND ?",
		"SELECT c FROM t WHERE id BETWEEN ? AND ? GROUP BY c",
		"SELECT c FROM t AS OF 3 WHERE id BETWEEN ? AND ?",
		"SELECT c FROM t WHERE u.id BETWEEN ? AND ?",
		"SELECT c FROM t, u WHERE id BETWEEN ? AND ?",
		"SELECT c FROM t WHERE id = ?",
	} {
		if ParseRangeSelect(q) != nil {
			t.Errorf("%q: recognized as a range select", q)
		}
	}
}

// fastRange runs q with args through ExecRangeSelect.
func fastRange(e *Engine, ctx *gmssql.Context, q string, args []string) (RangeResult, bool, error) {
	return fastRangeBy(e.ExecRangeSelect, ctx, q, args)
}

func fastRangeBy(exec func(*gmssql.Context, *RangeSelect, func(string) (any, bool)) (RangeResult, bool, error), ctx *gmssql.Context, q string, args []string) (RangeResult, bool, error) {
	rs := ParseRangeSelect(q)
	if rs == nil {
		return RangeResult{}, false, nil
	}
	return exec(ctx, rs, func(name string) (any, bool) {
		i, err := strconv.Atoi(strings.TrimPrefix(name, "v"))
		if err != nil || i < 1 || i > len(args) {
			return nil, false
		}
		n, err := strconv.ParseInt(args[i-1], 10, 64)
		return n, err == nil
	})
}

// TestRangeSelectMatchesAnalyzer: for random ranges over a table with
// duplicate, case-differing and trailing-space values, every shape the
// fast path takes returns exactly the analyzed plan's columns, values and
// order — for the administrator and for a user a row policy restricts,
// in autocommit and inside a transaction that wrote rows of its own. The
// MySQL wire's form (ExecRangeSelectWire) sends exactly the wire values
// go-mysql-server's RowToSQL makes of the analyzed plan's rows, whether
// it encodes stored values itself or declines to.
func TestRangeSelectMatchesAnalyzer(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	admin := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	query(t, e, admin, "CREATE TABLE t (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(20) NOT NULL, ci VARCHAR(10) COLLATE utf8mb4_0900_ai_ci NOT NULL, n INT, bank VARCHAR(4) NOT NULL, u BIGINT UNSIGNED NOT NULL, s TINYINT NOT NULL, l VARCHAR(8) CHARACTER SET latin1, d DOUBLE, KEY k_1 (k))")
	rng := rand.New(rand.NewSource(3))
	words := []string{"a", "A", "b", "b ", "B", "aa", "", "z"}
	var vals []string
	for id := -5; id <= 60; id++ {
		n := "NULL"
		if id%3 != 0 {
			n = strconv.Itoa(rng.Intn(5))
		}
		w := words[rng.Intn(len(words))]
		vals = append(vals, fmt.Sprintf("(%d, %d, '%s', '%s', %s, '%s', %d, %d, '%s', %s)", id, rng.Intn(7), w, words[rng.Intn(len(words))], n, []string{"A", "B"}[id&1],
			uint64(rng.Intn(4))<<62|uint64(id+5), rng.Intn(256)-128, w+"é", n))
	}
	query(t, e, admin, "INSERT INTO t VALUES "+strings.Join(vals, ", "))
	shapes := []string{
		"SELECT c FROM t WHERE id BETWEEN ? AND ?",
		"SELECT * FROM t WHERE id BETWEEN ? AND ?",
		"SELECT c FROM t WHERE id BETWEEN ? AND ? ORDER BY c",
		"SELECT id, c FROM t WHERE id BETWEEN ? AND ? ORDER BY c DESC",
		"SELECT c, id FROM t WHERE id BETWEEN ? AND ? ORDER BY ci",
		"SELECT x.id FROM t AS x WHERE x.id BETWEEN ? AND ? ORDER BY x.k DESC",
		"SELECT DISTINCT c FROM t WHERE id BETWEEN ? AND ? ORDER BY c",
		"SELECT DISTINCT c FROM t WHERE id BETWEEN ? AND ? ORDER BY c DESC",
		"SELECT DISTINCT c FROM t WHERE id BETWEEN ? AND ?",
		"SELECT DISTINCT k FROM coffer.t WHERE id BETWEEN ? AND ? ORDER BY k",
		"SELECT SUM(k) FROM t WHERE id BETWEEN ? AND ?",
		"SELECT sum( n ) FROM t WHERE id BETWEEN ? AND ?",
		"SELECT Sum(x.id) FROM t AS x WHERE x.id BETWEEN ? AND ?",
		"SELECT SUM(k) AS s FROM t WHERE (id BETWEEN ? AND ?)",
		"SELECT SUM(u) FROM t WHERE id BETWEEN ? AND ?",
		"SELECT SUM(s) FROM t WHERE id BETWEEN ? AND ?",
		"SELECT id, u, s, n FROM t WHERE id BETWEEN ? AND ? ORDER BY u DESC",
		"SELECT s, c FROM t WHERE id BETWEEN ? AND ? ORDER BY s",
		"SELECT c FROM t WHERE id BETWEEN ? AND ? ORDER BY u",
		"SELECT id, l FROM t WHERE id BETWEEN ? AND ?",
		"SELECT id, d FROM t WHERE id BETWEEN ? AND ? ORDER BY k",
	}
	ranges := [][]string{{"1", "10"}, {"-5", "60"}, {"10", "1"}, {"7", "7"}, {"-100", "-4"}, {"55", "1000"}}
	for i := 0; i < 10; i++ {
		a := rng.Intn(80) - 10
		ranges = append(ranges, []string{strconv.Itoa(a), strconv.Itoa(a + rng.Intn(30))})
	}
	wireHits := 0
	check := func(who string, ctx *gmssql.Context) {
		t.Helper()
		for _, q := range shapes {
			for _, args := range ranges {
				res, handled, err := fastRange(e, ctx, q, args)
				if err != nil || !handled {
					t.Fatalf("%s %s %v: handled=%v err=%v", who, q, args, handled, err)
				}
				got := describe(t, ctx, res.Schema, res.Rows)
				sch, rows, err := slowPoint(t, e, ctx, q, args)
				if err != nil {
					t.Fatalf("%s %s %v: %v", who, q, args, err)
				}
				want := describe(t, ctx, sch, rows)
				if got != want {
					t.Errorf("%s %s %v:\n fast %s\n slow %s", who, q, args, got, want)
				}
				res, handled, err = fastRangeBy(e.ExecRangeSelectWire, ctx, q, args)
				if err != nil || !handled {
					t.Fatalf("%s %s %v (wire): handled=%v err=%v", who, q, args, handled, err)
				}
				if res.Values != nil {
					wireHits++
					got = describe(t, ctx, res.Schema, nil)
					for _, v := range res.Values {
						got += fmt.Sprintf("\n%v", v)
					}
					res.Release() // the next statement reuses the buffers
				} else {
					got = describe(t, ctx, res.Schema, res.Rows)
				}
				if got != want {
					t.Errorf("%s %s %v (wire, values %v):\n fast %s\n slow %s", who, q, args, res.Values != nil, got, want)
				}
			}
		}
	}
	check("admin", admin)
	if wireHits == 0 {
		t.Fatal("no range select was answered with wire values")
	}
	// A session whose results are not utf8mb4 gets its text converted by
	// the decoded path.
	query(t, e, admin, "SET character_set_results = latin1")
	check("admin with latin1 results", admin)
	query(t, e, admin, "SET character_set_results = utf8mb4")
	// Inside a transaction that changed rows: both paths read its writes.
	query(t, e, admin, "BEGIN")
	query(t, e, admin, "UPDATE t SET c = 'zz' WHERE id BETWEEN 3 AND 6")
	query(t, e, admin, "DELETE FROM t WHERE id = 8")
	query(t, e, admin, "INSERT INTO t VALUES (61, 1, 'new', 'n', 1, 'A', 0, 0, NULL, NULL)")
	check("admin in a transaction", admin)
	query(t, e, admin, "ROLLBACK")
	for _, q := range []string{
		`CREATE USER alice IDENTIFIED BY 'p' ATTRIBUTE '{"bank":"A"}'`,
		"GRANT ALL ON *.* TO alice",
		`CREATE POLICY by_bank ON t USING 'row.bank == principal.attributes.bank'`,
	} {
		query(t, e, admin, q)
	}
	alice := e.NewContext(context.Background(), txn.Principal{Name: "alice", Host: "localhost"})
	check("alice", alice)
	check("admin under the policy", admin)
	if hits := e.FastHits(); hits == 0 {
		t.Fatal("the fast path answered nothing")
	}
}

// TestRangeSelectDeclines: shapes and executions left to the analyzer.
func TestRangeSelectDeclines(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	admin := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	for _, q := range []string{
		"CREATE TABLE t (id TINYINT PRIMARY KEY, c CHAR(20), d CHAR(20) NOT NULL, ci VARCHAR(10) COLLATE utf8mb4_0900_ai_ci NOT NULL)",
		"INSERT INTO t VALUES (1, 'one', 'x', 'a'), (2, NULL, 'X', 'A')",
		"CREATE TABLE k2 (a INT, b INT, c INT, PRIMARY KEY (a, b))",
		"CREATE TABLE s (k VARCHAR(10) PRIMARY KEY, c INT)",
		"CREATE VIEW v AS SELECT id, c FROM t",
		"CREATE USER bob IDENTIFIED BY 'p'",
	} {
		query(t, e, admin, q)
	}
	bob := e.NewContext(context.Background(), txn.Principal{Name: "bob", Host: "localhost"})
	for _, c := range []struct {
		ctx  *gmssql.Context
		q    string
		args []string
	}{
		{admin, "SELECT c FROM t WHERE id BETWEEN ? AND ?", []string{"1", "300"}},             // out of TINYINT's range
		{admin, "SELECT c FROM t WHERE id BETWEEN ? AND ?", []string{"1"}},                    // a missing argument
		{admin, "SELECT c FROM t WHERE id BETWEEN ? AND ? ORDER BY c", []string{"1", "2"}},    // ORDER BY a nullable column
		{admin, "SELECT DISTINCT c FROM t WHERE id BETWEEN ? AND ?", []string{"1", "2"}},      // DISTINCT on a nullable column
		{admin, "SELECT DISTINCT ci FROM t WHERE id BETWEEN ? AND ?", []string{"1", "2"}},     // DISTINCT under a folding collation
		{admin, "SELECT c FROM t WHERE d BETWEEN ? AND ?", []string{"1", "2"}},                // not the key
		{admin, "SELECT c FROM k2 WHERE a BETWEEN ? AND ?", []string{"1", "2"}},               // two-column key
		{admin, "SELECT c FROM s WHERE k BETWEEN ? AND ?", []string{"1", "2"}},                // not an integer key
		{admin, "SELECT c FROM v WHERE id BETWEEN ? AND ?", []string{"1", "2"}},               // a view
		{admin, "SELECT nope FROM t WHERE id BETWEEN ? AND ?", []string{"1", "2"}},            // unknown column
		{admin, "SELECT c FROM t WHERE id BETWEEN ? AND ? ORDER BY nope", []string{"1", "2"}}, // unknown ORDER BY column
		{bob, "SELECT c FROM t WHERE id BETWEEN ? AND ?", []string{"1", "2"}},                 // no SELECT privilege
	} {
		if _, handled, err := fastRange(e, c.ctx, c.q, c.args); handled || err != nil {
			t.Errorf("%s %v: handled=%v err=%v", c.q, c.args, handled, err)
		}
		if c.ctx.GetTransaction() != nil {
			t.Errorf("%s %v: declining left a transaction open", c.q, c.args)
		}
	}
	query(t, e, admin, "SET sql_select_limit = 1")
	if _, handled, _ := fastRange(e, admin, "SELECT d FROM t WHERE id BETWEEN ? AND ?", []string{"1", "2"}); handled {
		t.Error("handled a range select under sql_select_limit")
	}
}
