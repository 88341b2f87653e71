package engine

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	gmssql "github.com/dolthub/go-mysql-server/sql"

	"github.com/cofferdb/coffer/sql/txn"
)

// policyCase is a set of policies on t and the SQL predicate that should
// select exactly the rows they let alice (attributes {"b":"x"}) see.
type policyCase struct {
	policies []string
	sql      string
}

var policyCases = []policyCase{
	{[]string{`CREATE POLICY p1 ON t USING 'row.a < 5'`}, "a < 5"},
	{[]string{`CREATE POLICY p1 ON t USING 'row.b == principal.attributes.b'`}, "b = 'x'"},
	{[]string{`CREATE POLICY p1 ON t FOR SELECT USING 'row.c != null && row.c > 3'`}, "c IS NOT NULL AND c > 3"},
	{[]string{`CREATE POLICY p1 ON t USING 'row.a % 2 == 0'`, `CREATE POLICY p2 ON t AS RESTRICTIVE USING 'row.b != "z"'`}, "a % 2 = 0 AND b <> 'z'"},
	{[]string{`CREATE POLICY p1 ON t USING 'row.a == 1'`, `CREATE POLICY p2 ON t USING 'row.id > 50 && row.b in ["y", "z"]'`}, "a = 1 OR (id > 50 AND b IN ('y','z'))"},
	{[]string{`CREATE POLICY p1 ON t TO nobody USING 'true'`}, "FALSE"},
}

// randomQuery returns a query over table name T (substituted by the
// caller) from a small grammar: projections, point, range and index
// predicates, aggregates, joins, subqueries, window functions.
func randomQuery(r *rand.Rand) string {
	conds := []string{
		fmt.Sprintf("x.id = %d", r.Intn(80)),
		fmt.Sprintf("x.id IN (%d, %d, %d)", r.Intn(80), r.Intn(80), r.Intn(80)),
		fmt.Sprintf("x.id BETWEEN %d AND %d", r.Intn(40), 40+r.Intn(40)),
		fmt.Sprintf("x.a = %d", r.Intn(10)),
		fmt.Sprintf("x.a > %d AND x.b <> 'y'", r.Intn(10)),
		fmt.Sprintf("x.b = '%s'", []string{"x", "y", "z"}[r.Intn(3)]),
		"x.c IS NULL",
		fmt.Sprintf("x.c < %d OR x.a = %d", r.Intn(10), r.Intn(10)),
	}
	where := ""
	if r.Intn(4) > 0 {
		where = " WHERE " + conds[r.Intn(len(conds))]
	}
	switch r.Intn(7) {
	case 0:
		return "SELECT x.id, x.a, x.b, x.c FROM T x" + where + " ORDER BY x.id"
	case 1:
		return "SELECT COUNT(*), SUM(x.a), MIN(x.c), MAX(x.b) FROM T x" + where
	case 2:
		return "SELECT x.b, COUNT(*), SUM(x.a) FROM T x" + where + " GROUP BY x.b ORDER BY x.b"
	case 3:
		return "SELECT x.id, y.id FROM T x JOIN T y ON x.a = y.a AND x.id < y.id" + where + " ORDER BY x.id, y.id"
	case 4:
		return "SELECT x.id FROM T x WHERE x.a IN (SELECT y.a FROM T y WHERE y.b = 'x') ORDER BY x.id"
	case 5:
		return "SELECT x.id, ROW_NUMBER() OVER (PARTITION BY x.b ORDER BY x.id), SUM(x.a) OVER (PARTITION BY x.b) FROM T x" + where + " ORDER BY x.id"
	}
	return "WITH q AS (SELECT * FROM T x" + where + ") SELECT COUNT(*), MAX(id) FROM q"
}

// TestPolicyProperty: for random data, policies and queries, what alice
// gets from the policied table equals what the same query returns over an
// unpoliced copy filtered by the SQL equivalent of the policies.
func TestPolicyProperty(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	admin := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	run := func(ctx *gmssql.Context, q string) []gmssql.Row {
		t.Helper()
		return query(t, e, ctx, q)
	}
	r := rand.New(rand.NewSource(8))
	run(admin, "CREATE TABLE t (id INT PRIMARY KEY, a INT NOT NULL, b VARCHAR(4) NOT NULL, c INT, KEY (a), KEY (b, a))")
	run(admin, "CREATE TABLE plain (id INT PRIMARY KEY, a INT NOT NULL, b VARCHAR(4) NOT NULL, c INT)")
	var vals []string
	for id := 0; id < 80; id++ {
		if r.Intn(4) == 0 {
			continue
		}
		c := "NULL"
		if r.Intn(3) > 0 {
			c = fmt.Sprint(r.Intn(10))
		}
		vals = append(vals, fmt.Sprintf("(%d, %d, '%s', %s)", id, r.Intn(10), []string{"x", "y", "z"}[r.Intn(3)], c))
	}
	run(admin, "INSERT INTO t VALUES "+strings.Join(vals, ", "))
	run(admin, "INSERT INTO plain SELECT * FROM t")
	run(admin, `CREATE USER alice IDENTIFIED BY 'p' ATTRIBUTE '{"b":"x"}'`)
	run(admin, "GRANT ALL ON *.* TO alice")
	alice := e.NewContext(context.Background(), txn.Principal{Name: "alice", Host: "localhost"})

	for ci, pc := range policyCases {
		for _, p := range pc.policies {
			run(admin, p)
		}
		for i := 0; i < 40; i++ {
			q := randomQuery(r)
			got := fmt.Sprint(run(alice, strings.ReplaceAll(q, " T ", " t ")))
			want := fmt.Sprint(run(admin, strings.ReplaceAll(q, " T ", " (SELECT * FROM plain WHERE "+pc.sql+") AS ")))
			// "FROM (…) AS x": the grammar always aliases T.
			if got != want {
				t.Errorf("policies %d, %s:\n got %s\nwant %s", ci, q, got, want)
			}
		}
		// EXPLAIN never answers COUNT(*) from the table's row count.
		plan := fmt.Sprint(run(alice, "EXPLAIN SELECT COUNT(*) FROM t"))
		if strings.Contains(plan, "table_count") {
			t.Errorf("EXPLAIN SELECT COUNT(*): %s", plan)
		}
		for _, p := range pc.policies {
			name := strings.Fields(p)[2]
			run(admin, "DROP POLICY "+name+" ON t")
		}
	}
	// With every policy dropped the table is open again.
	got := run(alice, "SELECT COUNT(*) FROM t")
	want := run(admin, "SELECT COUNT(*) FROM plain")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after dropping the policies alice counts %v, want %v", got, want)
	}
}

// TestPolicyPastNames: rows read AS OF a time when the table had another
// name (and another storage id) are still under today's policies, and so
// are the ledger transactions that wrote them.
func TestPolicyPastNames(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	admin := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	run := func(ctx *gmssql.Context, q string) string {
		t.Helper()
		return fmt.Sprint(query(t, e, ctx, q))
	}
	run(admin, "CREATE TABLE tmp (id INT PRIMARY KEY, bank VARCHAR(8) NOT NULL)")
	run(admin, "INSERT INTO tmp VALUES (1, 'A'), (2, 'B')")
	seq := run(admin, "SELECT coffer_last_commit()")
	seq = strings.Trim(seq, "[]")
	run(admin, "ALTER TABLE tmp ADD COLUMN x INT NULL") // a rewrite: a new storage id
	run(admin, "RENAME TABLE tmp TO payments")
	run(admin, `CREATE USER alice IDENTIFIED BY 'p' ATTRIBUTE '{"bank":"A"}'`)
	run(admin, "GRANT ALL ON *.* TO alice")
	run(admin, `CREATE POLICY by_bank ON payments USING 'row.bank == principal.attributes.bank'`)
	alice := e.NewContext(context.Background(), txn.Principal{Name: "alice", Host: "localhost"})
	if got := run(alice, "SELECT id FROM payments ORDER BY id"); got != "[[1]]" {
		t.Errorf("payments: %s", got)
	}
	if got := run(alice, "SELECT id FROM tmp AS OF "+seq+" ORDER BY id"); got != "[[1]]" {
		t.Errorf("tmp AS OF %s (before the rename and the rewrite): %s, want [[1]]", seq, got)
	}
	if got := run(alice, "SELECT COUNT(*) FROM coffer_ledger.transactions WHERE seq = "+seq); got != "[[0]]" {
		t.Errorf("alice sees the transaction that wrote bank B's row under the old name: %s", got)
	}
	if got := run(admin, "SELECT COUNT(*) FROM coffer_ledger.transactions WHERE seq = "+seq); got != "[[1]]" {
		t.Errorf("admin does not see its own transaction: %s", got)
	}
}

// TestPolicyCounters: a table with policies shows no AUTO_INCREMENT
// counter (it tells how many rows others inserted).
func TestPolicyCounters(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	admin := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	run := func(q string) string {
		t.Helper()
		return fmt.Sprint(query(t, e, admin, q))
	}
	run("CREATE TABLE c (id INT PRIMARY KEY AUTO_INCREMENT, bank VARCHAR(8) NOT NULL)")
	run("INSERT INTO c (bank) VALUES ('A'), ('B'), ('B')")
	if got := run("SHOW CREATE TABLE c"); !strings.Contains(got, "AUTO_INCREMENT=4") {
		t.Fatalf("control: SHOW CREATE TABLE without a policy: %s", got)
	}
	run(`CREATE POLICY p ON c USING 'row.bank == "A"'`)
	if got := run("SHOW CREATE TABLE c"); strings.Contains(got, "AUTO_INCREMENT=") {
		t.Errorf("SHOW CREATE TABLE shows the counter: %s", got)
	}
	if got := run("SELECT COALESCE(AUTO_INCREMENT, 0) FROM information_schema.TABLES WHERE TABLE_NAME = 'c'"); got != "[[0]]" {
		t.Errorf("information_schema.TABLES.AUTO_INCREMENT: %s", got)
	}
}
