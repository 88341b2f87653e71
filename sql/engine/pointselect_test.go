package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	gmsserver "github.com/dolthub/go-mysql-server/server"
	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/cofferdb/coffer/sql/txn"
)

func TestParsePointSelect(t *testing.T) {
	for _, q := range []string{
		"SELECT c FROM sbtest1 WHERE id=?",
		"SELECT * FROM t WHERE id = ?",
		"select a, b from db.t where ? = id",
		"SELECT x.c FROM t AS x WHERE x.id = ?",
		"SELECT db.t.c FROM db.t WHERE (db.t.id = ?)",
		"SELECT v FROM k2 WHERE b = ? AND a = ?",
	} {
		if ParsePointSelect(q) == nil {
			t.Errorf("%q: not recognized", q)
		}
	}
	for _, q := range []string{
		"SELECT c FROM t WHERE id = 5",
		"SELECT c FROM t WHERE id > ?",
		"SELECT c FROM t WHERE id = ? OR id = ?",
		"SELECT c FROM t WHERE id = ? ORDER BY c",
		"SELECT c FROM t WHERE id = ? LIMIT 1",
		"SELECT c FROM t WHERE id = ? FOR UPDATE",
		"SELECT c FROM t WHERE id = ? LOCK IN SHARE MODE",
		"SELECT DISTINCT c FROM t WHERE id = ?",
		"SELECT SQL_CALC_FOUND_ROWS c FROM t WHERE id = ?",
		"SELECT c FROM t AS OF 3 WHERE id = ?",
		"SELECT c + 1 FROM t WHERE id = ?",
		"SELECT c AS d FROM t WHERE id = ?",
		"SELECT COUNT(*) FROM t WHERE id = ?",
		"SELECT c FROM t, u WHERE t.id = ?",
		"SELECT c FROM t JOIN u ON t.id = u.id WHERE t.id = ?",
		"SELECT c FROM t WHERE id = (SELECT ?)",
		"SELECT c FROM t WHERE u.id = ?",
		"SELECT c FROM t x WHERE t.id = ?",
		"SELECT c FROM t FORCE INDEX (PRIMARY) WHERE id = ?",
		"SELECT /*+ JOIN_ORDER(t) */ c FROM t WHERE id = ?",
		"SELECT c FROM t WHERE id = ? GROUP BY c",
		"SELECT c INTO @x FROM t WHERE id = ?",
		"WITH w AS (SELECT 1) SELECT c FROM t WHERE id = ?",
		"SELECT c FROM t WHERE id = ? UNION SELECT c FROM t WHERE id = ?",
		"UPDATE t SET c = 1 WHERE id = ?",
		"SELECT c FROM t WHERE id <=> ?",
		"SELECT c FROM t WHERE id = ? AND c = 'x'",
		"SELECT t.* FROM t WHERE id = ?",
		"SELECT *, c FROM t WHERE id = ?",
	} {
		if ParsePointSelect(q) != nil {
			t.Errorf("%q: recognized as a point select", q)
		}
	}
}

// slowPoint runs q with args through the analyzer.
func slowPoint(t *testing.T, e *Engine, ctx *gmssql.Context, q string, args []string) (gmssql.Schema, []gmssql.Row, error) {
	t.Helper()
	b := map[string]sqlparser.Expr{}
	for i, a := range args {
		b["v"+strconv.Itoa(i+1)] = sqlparser.NewIntVal([]byte(a))
	}
	sch, iter, _, err := e.QueryWithBindings(ctx, q, nil, b, nil)
	if err != nil {
		return nil, nil, err
	}
	rows, err := gmssql.RowIterToRows(ctx, iter)
	return sch, rows, err
}

// fastPoint runs q with args through ExecPointSelect.
func fastPoint(e *Engine, ctx *gmssql.Context, q string, args []string) (PointResult, bool, error) {
	ps := ParsePointSelect(q)
	if ps == nil {
		return PointResult{}, false, nil
	}
	return e.ExecPointSelect(ctx, ps, func(name string) (any, bool) {
		i, err := strconv.Atoi(strings.TrimPrefix(name, "v"))
		if err != nil || i < 1 || i > len(args) {
			return nil, false
		}
		n, err := strconv.ParseInt(args[i-1], 10, 64)
		return n, err == nil
	})
}

// describe renders what a wire protocol sends of a result: each column's
// metadata and each value as encoded for the wire.
func describe(t *testing.T, ctx *gmssql.Context, sch gmssql.Schema, rows []gmssql.Row) string {
	t.Helper()
	var b strings.Builder
	for _, c := range sch {
		fmt.Fprintf(&b, "%s|%s|%s|%s|%v|%v|%v|%v; ", c.Name, c.Source, c.DatabaseSource, c.Type, c.Type.Type(), c.Nullable, c.PrimaryKey, c.AutoIncrement)
	}
	for _, r := range rows {
		vals, err := gmsserver.RowToSQL(ctx, sch, r, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "\n%v", vals)
	}
	return b.String()
}

// TestPointSelectMatchesAnalyzer: for every statement and argument the
// fast path takes, its columns and values are exactly what the analyzed
// plan returns — for the administrator, and for a user a row policy
// restricts.
func TestPointSelectMatchesAnalyzer(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	admin := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	for _, q := range []string{
		"CREATE TABLE t (id INT PRIMARY KEY, c CHAR(20) NOT NULL DEFAULT '', pad VARCHAR(60), d DECIMAL(10,2), ts DATETIME(3), b VARBINARY(8), u BIGINT UNSIGNED NOT NULL, bank VARCHAR(4) NOT NULL)",
		"INSERT INTO t VALUES (1, 'one', 'p1', 1.25, '2026-11-25 10:00:00.123', 0x0102, 18446744073709551615, 'A'), (2, 'two', NULL, NULL, NULL, NULL, 0, 'B'), (-3, 'minus', 'x', -1.5, NULL, '', 7, 'A')",
		"CREATE TABLE k2 (a TINYINT, b BIGINT UNSIGNED, v TEXT, PRIMARY KEY (a, b))",
		"INSERT INTO k2 VALUES (1, 10, 'a'), (1, 11, 'b'), (2, 10, 'c')",
		"CREATE TABLE Up (ID INT PRIMARY KEY AUTO_INCREMENT, Val VARCHAR(10))",
		"INSERT INTO Up (Val) VALUES ('x'), ('y')",
		`CREATE USER alice IDENTIFIED BY 'p' ATTRIBUTE '{"bank":"A"}'`,
		"GRANT ALL ON *.* TO alice",
		`CREATE POLICY by_bank ON t USING 'row.bank == principal.attributes.bank'`,
	} {
		query(t, e, admin, q)
	}
	alice := e.NewContext(context.Background(), txn.Principal{Name: "alice", Host: "localhost"})
	cases := []struct {
		q    string
		args [][]string
	}{
		{"SELECT c FROM t WHERE id=?", [][]string{{"1"}, {"2"}, {"-3"}, {"4"}}},
		{"SELECT * FROM t WHERE id = ?", [][]string{{"1"}, {"2"}, {"-3"}}},
		{"SELECT id, u, d, ts, b, pad FROM coffer.t WHERE ? = id", [][]string{{"1"}, {"2"}}},
		{"SELECT x.c, x.id FROM t AS x WHERE x.id = ?", [][]string{{"1"}, {"9"}}},
		{"SELECT coffer.t.c FROM coffer.t WHERE (coffer.t.id = ?)", [][]string{{"-3"}}},
		{"SELECT v, a, b FROM k2 WHERE b = ? AND a = ?", [][]string{{"10", "1"}, {"11", "1"}, {"10", "2"}, {"11", "2"}}},
		{"SELECT VAL, id FROM Up WHERE ID = ?", [][]string{{"1"}, {"2"}, {"3"}}},
		{"SELECT * FROM up WHERE id = ?", [][]string{{"2"}}},
		{"SELECT * FROM UP AS Xy WHERE xY.Id = ?", [][]string{{"2"}}},
		{"SELECT Xy.vAL FROM UP AS Xy WHERE xY.Id = ?", [][]string{{"1"}}},
	}
	for _, who := range []struct {
		name string
		ctx  *gmssql.Context
	}{{"admin", admin}, {"alice", alice}} {
		for _, c := range cases {
			for _, args := range c.args {
				res, handled, err := fastPoint(e, who.ctx, c.q, args)
				if err != nil || !handled {
					t.Fatalf("%s %s %v: handled=%v err=%v", who.name, c.q, args, handled, err)
				}
				var rows []gmssql.Row
				if res.Row != nil {
					rows = append(rows, res.Row)
				}
				got := describe(t, who.ctx, res.Schema, rows)
				sch, rows, err := slowPoint(t, e, who.ctx, c.q, args)
				if err != nil {
					t.Fatalf("%s %s %v: %v", who.name, c.q, args, err)
				}
				if want := describe(t, who.ctx, sch, rows); got != want {
					t.Errorf("%s %s %v:\n fast %s\n slow %s", who.name, c.q, args, got, want)
				}
			}
		}
	}
	// The policy hides bank B's row from alice on the fast path too.
	if res, _, _ := fastPoint(e, alice, "SELECT c FROM t WHERE id = ?", []string{"2"}); res.Row != nil {
		t.Errorf("alice reads a row the policy hides: %v", res.Row)
	}
	if res, _, _ := fastPoint(e, alice, "SELECT c FROM t WHERE id = ?", []string{"1"}); res.Row == nil {
		t.Error("alice does not read row 1, which the policy lets her see")
	}
}

// TestPointSelectDeclines: executions the fast path must leave to the
// analyzer, which answers them or fails with the right error.
func TestPointSelectDeclines(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	admin := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	for _, q := range []string{
		"CREATE TABLE t (id TINYINT PRIMARY KEY, c CHAR(20))",
		"INSERT INTO t VALUES (1, 'one')",
		"CREATE TABLE s (k VARCHAR(10) PRIMARY KEY, c INT)",
		"CREATE TABLE nokey (id INT, c INT)",
		"CREATE VIEW v AS SELECT id, c FROM t",
		"CREATE TABLE g (id INT PRIMARY KEY, c INT, d INT AS (c + 1) VIRTUAL)",
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
		{admin, "SELECT c FROM t WHERE id = ?", []string{"300"}},     // out of TINYINT's range
		{admin, "SELECT c FROM t WHERE id = ?", nil},                 // no argument
		{admin, "SELECT c FROM s WHERE k = ?", []string{"1"}},        // not an integer key
		{admin, "SELECT c FROM nokey WHERE id = ?", []string{"1"}},   // no primary key
		{admin, "SELECT c FROM v WHERE id = ?", []string{"1"}},       // a view
		{admin, "SELECT c FROM g WHERE id = ?", []string{"1"}},       // virtual column
		{admin, "SELECT nope FROM t WHERE id = ?", []string{"1"}},    // unknown column
		{admin, "SELECT c FROM t WHERE c = ?", []string{"1"}},        // not the key
		{admin, "SELECT c FROM missing WHERE id = ?", []string{"1"}}, // no such table
		{admin, "SELECT c FROM information_schema.t WHERE id = ?", []string{"1"}},
		{bob, "SELECT c FROM t WHERE id = ?", []string{"1"}}, // no SELECT privilege
	} {
		if _, handled, err := fastPoint(e, c.ctx, c.q, c.args); handled || err != nil {
			t.Errorf("%s %v: handled=%v err=%v", c.q, c.args, handled, err)
		}
		if c.ctx.GetTransaction() != nil {
			t.Errorf("%s %v: declining left a transaction open", c.q, c.args)
		}
	}
	if _, _, err := slowPoint(t, e, bob, "SELECT c FROM t WHERE id = ?", []string{"1"}); err == nil {
		t.Error("bob reads t without the SELECT privilege")
	}

	// autocommit off, no transaction open: the statement would open one.
	query(t, e, admin, "SET autocommit = 0")
	query(t, e, admin, "COMMIT")
	if admin.GetTransaction() != nil {
		t.Fatal("control: a transaction is open after COMMIT")
	}
	if _, handled, _ := fastPoint(e, admin, "SELECT c FROM t WHERE id = ?", []string{"1"}); handled {
		t.Error("handled a statement that opens a transaction under autocommit=0")
	}
	query(t, e, admin, "SET autocommit = 1")
	query(t, e, admin, "SET sql_select_limit = 0")
	if _, handled, _ := fastPoint(e, admin, "SELECT c FROM t WHERE id = ?", []string{"1"}); handled {
		t.Error("handled a statement under sql_select_limit")
	}
	query(t, e, admin, "SET sql_select_limit = DEFAULT")
}

// TestPointSelectTransactions: inside an explicit transaction the fast
// path reads the transaction's snapshot and its own writes, and leaves the
// transaction open; in autocommit mode it ends its transaction.
func TestPointSelectTransactions(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	a := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	b := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	query(t, e, a, "CREATE TABLE t (id INT PRIMARY KEY, c INT)")
	query(t, e, a, "INSERT INTO t VALUES (1, 10)")
	get := func(ctx *gmssql.Context) any {
		t.Helper()
		res, handled, err := fastPoint(e, ctx, "SELECT c FROM t WHERE id = ?", []string{"1"})
		if err != nil || !handled {
			t.Fatalf("handled=%v err=%v", handled, err)
		}
		if res.Row == nil {
			return nil
		}
		return res.Row[0]
	}
	if v := get(a); v != int32(10) || a.GetTransaction() != nil {
		t.Fatalf("autocommit read: %v, transaction %v", v, a.GetTransaction())
	}
	query(t, e, a, "BEGIN")
	query(t, e, a, "UPDATE t SET c = 11 WHERE id = 1")
	if v := get(a); v != int32(11) {
		t.Errorf("own write not seen: %v", v)
	}
	if a.GetTransaction() == nil {
		t.Fatal("the explicit transaction was ended")
	}
	query(t, e, b, "BEGIN")
	if v := get(b); v != int32(10) {
		t.Errorf("another session sees an uncommitted write: %v", v)
	}
	query(t, e, a, "COMMIT")
	if v := get(b); v != int32(10) {
		t.Errorf("snapshot moved inside b's transaction: %v", v)
	}
	query(t, e, b, "COMMIT")
	if v := get(b); v != int32(11) {
		t.Errorf("after commit: %v", v)
	}
	if got := fmt.Sprint(query(t, e, b, "SELECT FOUND_ROWS(), ROW_COUNT()")); got != "[[1 -1]]" {
		t.Errorf("FOUND_ROWS(), ROW_COUNT() after a point select: %s", got)
	}
}

// TestPointInsertPolicies: a row policy's check applies to inserts on the
// fast path exactly as on the analyzer's: alice may insert rows of her
// bank only, and the administrator is under the same policy.
func TestPointInsertPolicies(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	admin := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	for _, q := range []string{
		"CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, bank VARCHAR(4) NOT NULL)",
		`CREATE USER alice IDENTIFIED BY 'p' ATTRIBUTE '{"bank":"A"}'`,
		"GRANT ALL ON *.* TO alice",
		`CREATE POLICY by_bank ON t USING 'row.bank == principal.attributes.bank'`,
	} {
		query(t, e, admin, q)
	}
	alice := e.NewContext(context.Background(), txn.Principal{Name: "alice", Host: "localhost"})
	ins := ParsePointInsert("INSERT INTO t (bank) VALUES (?)")
	for _, c := range []struct {
		ctx  *gmssql.Context
		bank string
		ok   bool
	}{{alice, "A", true}, {alice, "B", false}, {admin, "A", false}} {
		res, handled, err := e.ExecPointInsert(c.ctx, ins, func(string) (any, bool) { return c.bank, true })
		if !handled || (err == nil) != c.ok {
			t.Errorf("insert %s: handled=%v err=%v, want ok=%v", c.bank, handled, err, c.ok)
		}
		if c.ok && res.InsertID == 0 {
			t.Errorf("insert %s: no insert id", c.bank)
		}
		if c.ctx.GetTransaction() != nil {
			t.Errorf("insert %s: the autocommit transaction is still open", c.bank)
		}
	}
	if got := fmt.Sprint(query(t, e, alice, "SELECT bank FROM t")); got != "[[A]]" {
		t.Errorf("alice sees %s", got)
	}
	if got := fmt.Sprint(query(t, e, alice, "SELECT LAST_INSERT_ID()")); got != "[[1]]" {
		t.Errorf("LAST_INSERT_ID() = %s", got)
	}
}

// TestPointInsertUnsignedRange: an unsigned value too large for a
// narrower unsigned column is out of range (the analyzer's error), not
// truncated (go-mysql-server's conversion calls the truncation in range).
func TestPointInsertUnsignedRange(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	ctx := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	query(t, e, ctx, "CREATE TABLE u (id INT PRIMARY KEY, ui INT UNSIGNED, ti TINYINT UNSIGNED)")
	ins := ParsePointInsert("INSERT INTO u VALUES (?, ?, ?)")
	for _, args := range [][]any{{1, uint64(1)<<32 + 5, uint64(3)}, {2, uint64(5), uint64(300)}} {
		if _, handled, err := e.ExecPointInsert(ctx, ins, writeArg(args)); handled {
			t.Errorf("%v: handled (err %v)", args, err)
		}
		if _, err := slowWrite(t, e, ctx, "INSERT INTO u VALUES (?, ?, ?)", args); err == nil {
			t.Errorf("%v: the analyzer took it", args)
		}
	}
	if _, handled, err := e.ExecPointInsert(ctx, ins, writeArg([]any{3, uint64(1)<<32 - 1, uint64(255)})); !handled || err != nil {
		t.Errorf("largest values: handled=%v err=%v", handled, err)
	}
	if got := fmt.Sprint(query(t, e, ctx, "SELECT * FROM u")); got != "[[3 4294967295 255]]" {
		t.Errorf("rows: %s", got)
	}
}

// TestPointSelectPolicyChanges: the policies a statement applies are
// compiled once per catalog state and table, and each principal's
// decisions once per state, so every charter or schema change must reach
// the next statement: a policy created, dropped or replaced, a user
// re-created with other attributes, a column added.
func TestPointSelectPolicyChanges(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	admin := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	run := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			query(t, e, admin, q)
		}
	}
	run("CREATE TABLE t (id INT PRIMARY KEY, bank VARCHAR(4) NOT NULL, amount INT NOT NULL)",
		"INSERT INTO t VALUES (1, 'A', 5), (2, 'B', 50), (3, 'A', 500)",
		`CREATE USER alice IDENTIFIED BY 'p' ATTRIBUTE '{"bank":"A"}'`,
		"GRANT ALL ON *.* TO alice")
	alice := e.NewContext(context.Background(), txn.Principal{Name: "alice", Host: "localhost"})
	sees := func(step, want string) {
		t.Helper()
		var got []string
		for _, id := range []string{"1", "2", "3"} {
			for rep := 0; rep < 2; rep++ { // the second run uses what the first cached
				res, handled, err := fastPoint(e, alice, "SELECT id FROM t WHERE id = ?", []string{id})
				if err != nil || !handled {
					t.Fatalf("%s: point select %s: handled=%v err=%v", step, id, handled, err)
				}
				if rep == 0 && res.Row != nil {
					got = append(got, id)
				}
			}
		}
		if g := strings.Join(got, ","); g != want {
			t.Errorf("%s: alice's point selects see rows %q, want %q", step, g, want)
		}
		wantScan := "[[" + strings.ReplaceAll(want, ",", "] [") + "]]"
		if scan := fmt.Sprint(query(t, e, alice, "SELECT id FROM t ORDER BY id")); scan != wantScan {
			t.Errorf("%s: alice's scan sees %s, want %s", step, scan, wantScan)
		}
	}
	sees("no policy", "1,2,3")
	run(`CREATE POLICY by_bank ON t USING 'row.bank == principal.attributes.bank'`)
	sees("bank policy", "1,3")
	run("DROP USER alice", `CREATE USER alice IDENTIFIED BY 'p' ATTRIBUTE '{"bank":"B"}'`, "GRANT ALL ON *.* TO alice")
	sees("alice moved to bank B", "2")
	run("DROP POLICY by_bank ON t", `CREATE POLICY big ON t USING 'row.amount > 10'`)
	sees("amount policy (CEL per row)", "2,3")
	run("ALTER TABLE t ADD COLUMN note VARCHAR(8) NOT NULL DEFAULT ''")
	sees("after a column is added", "2,3")
	run("DROP POLICY big ON t")
	sees("policies dropped", "1,2,3")
}
