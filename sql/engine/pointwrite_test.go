package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	vmysql "github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/cofferdb/coffer/sql/txn"
)

func TestParsePointWrite(t *testing.T) {
	for _, q := range []string{
		"UPDATE sbtest1 SET k=k+1 WHERE id=?",
		"UPDATE sbtest1 SET c=? WHERE id=?",
		"DELETE FROM sbtest1 WHERE id=?",
		"update db.t set a = ?, b = b - 7, db.t.c = ? where (db.t.id = ?)",
		"UPDATE t SET t.v = ? WHERE ? = t.b AND t.a = ?",
		"DELETE FROM db.t WHERE a = ? AND b = ?",
		"UPDATE t SET k = k + 18446744073709551615 WHERE id = ?",
		"UPDATE t SET k = k + -1 WHERE id = ?",
		"UPDATE `t` SET `k` = (`k` + 1) WHERE (`id` = :v1)",
		"UPDATE t SET k = k + ? WHERE id = ?",
		"update pgbench_accounts set abalance = (abalance + :v1) where aid = :v2",
	} {
		if ParsePointWrite(q) == nil {
			t.Errorf("%q: not recognized", q)
		}
	}
	for _, q := range []string{
		"UPDATE t SET k = k + 1",
		"UPDATE t SET k = k + 1 WHERE id = 5",
		"UPDATE t SET k = k + 1 WHERE id > ?",
		"UPDATE t SET k = k + 1 WHERE id = ? OR id = ?",
		"UPDATE t SET k = k + 1 WHERE id = ? LIMIT 1",
		"UPDATE t SET k = k + 1 WHERE id = ? ORDER BY id",
		"UPDATE IGNORE t SET k = ? WHERE id = ?",
		"UPDATE /* c */ t SET k = ? WHERE id = ?",
		"UPDATE t AS x SET k = ? WHERE id = ?",
		"UPDATE t, u SET t.k = ? WHERE t.id = ?",
		"UPDATE t JOIN u ON t.id = u.id SET t.k = ? WHERE t.id = ?",
		"UPDATE t SET k = k * 2 WHERE id = ?",
		"UPDATE t SET k = j + 1 WHERE id = ?",
		"UPDATE t SET k = 1 + k WHERE id = ?",
		"UPDATE t SET k = k + 1.5 WHERE id = ?",
		"UPDATE t SET k = k + 0x1 WHERE id = ?",
		"UPDATE t SET k = 5 WHERE id = ?",
		"UPDATE t SET k = DEFAULT WHERE id = ?",
		"UPDATE t SET k = NULL WHERE id = ?",
		"UPDATE t SET k = (SELECT ?) WHERE id = ?",
		"UPDATE t SET u.k = ? WHERE id = ?",
		"UPDATE t SET k = ? WHERE u.id = ?",
		"UPDATE t SET k = ? WHERE id = ? AND k = 3",
		"UPDATE t PARTITION (p0) SET k = ? WHERE id = ?",
		"WITH w AS (SELECT 1) UPDATE t SET k = ? WHERE id = ?",
		"DELETE FROM t",
		"DELETE FROM t WHERE id = 1",
		"DELETE FROM t WHERE id = ? LIMIT 1",
		"DELETE FROM t WHERE id = ? ORDER BY id",
		"DELETE t FROM t WHERE id = ?",
		"DELETE FROM t AS x WHERE x.id = ?",
		"DELETE FROM t, u WHERE t.id = ?",
		"DELETE FROM t PARTITION (p0) WHERE id = ?",
		"DELETE /* c */ FROM t WHERE id = ?",
		"DELETE FROM t WHERE id IN (?)",
		"SELECT c FROM t WHERE id = ?",
		"INSERT INTO t VALUES (?)",
	} {
		if ParsePointWrite(q) != nil {
			t.Errorf("%q: recognized as a point write", q)
		}
	}
}

// writeArg returns a test's argument as the wires bind it.
func writeArg(args []any) func(name string) (any, bool) {
	return func(name string) (any, bool) {
		i, err := strconv.Atoi(strings.TrimPrefix(name, "v"))
		if err != nil || i < 1 || i > len(args) {
			return nil, false
		}
		switch v := args[i-1].(type) {
		case int:
			return int64(v), true
		case nil, int64, uint64, float64, string:
			return v, true
		}
		return nil, false
	}
}

// fastWrite runs q with args through ExecPointWrite.
func fastWrite(e *Engine, ctx *gmssql.Context, q string, args []any) (types.OkResult, bool, error) {
	pw := ParsePointWrite(q)
	if pw == nil {
		return types.OkResult{}, false, nil
	}
	return e.ExecPointWrite(ctx, pw, writeArg(args))
}

// slowWrite runs q with args through the analyzer, bound as
// go-mysql-server's handler binds a prepared statement's parameters.
func slowWrite(t *testing.T, e *Engine, ctx *gmssql.Context, q string, args []any) (types.OkResult, error) {
	t.Helper()
	b := map[string]sqlparser.Expr{}
	for i, a := range args {
		if n, ok := a.(int); ok {
			a = int64(n)
		}
		bv, err := sqltypes.BuildBindVariable(a)
		if err != nil {
			t.Fatal(err)
		}
		v, err := sqltypes.BindVariableToValue(bv)
		if err != nil {
			t.Fatal(err)
		}
		if b["v"+strconv.Itoa(i+1)], err = sqlparser.ExprFromValue(v); err != nil {
			t.Fatal(err)
		}
	}
	_, iter, _, err := e.QueryWithBindings(ctx, q, nil, b, nil)
	if err != nil {
		return types.OkResult{}, err
	}
	rows, err := gmssql.RowIterToRows(ctx, iter)
	if err != nil {
		return types.OkResult{}, err
	}
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("%s: result %v", q, rows)
	}
	return rows[0][0].(types.OkResult), nil
}

// writeOutcome renders what a client learns from a write: the error's
// code and SQLSTATE, or the OK packet and what ROW_COUNT(), FOUND_ROWS()
// and the transaction state say afterwards.
func writeOutcome(t *testing.T, e *Engine, ctx *gmssql.Context, res types.OkResult, err error) string {
	t.Helper()
	if err != nil {
		se := gmssql.CastSQLError(err)
		return fmt.Sprintf("error %d %s", se.Num, se.State)
	}
	info := ""
	if res.Info != nil {
		info = res.Info.String()
	}
	open := ctx.GetTransaction() != nil
	after := query(t, e, ctx, "SELECT ROW_COUNT(), FOUND_ROWS()")
	return fmt.Sprintf("affected %d id %d info %q; row_count, found_rows %v; in transaction %v", res.RowsAffected, res.InsertID, info, after, open)
}

// pointWriteSetup is the schema and data both engines of the comparison
// tests start from.
var pointWriteSetup = []string{
	"CREATE TABLE sb (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL DEFAULT 0, c CHAR(20) NOT NULL DEFAULT '', pad VARCHAR(10), KEY k_1 (k), UNIQUE KEY uc (c))",
	"INSERT INTO sb (id, k, c, pad) VALUES (1, 10, 'one', 'p'), (2, 20, 'two', NULL), (3, 30, 'three', 'x'), (4, 40, 'four', 'y')",
	"INSERT INTO sb (k, c) VALUES (50, 'five')", // LAST_INSERT_ID() = 5 from here on
	"CREATE TABLE nums (id BIGINT PRIMARY KEY, ti TINYINT, u BIGINT UNSIGNED, i BIGINT, ui INT UNSIGNED, f DOUBLE, n INT)",
	"INSERT INTO nums VALUES (1, 126, 18446744073709551614, 9223372036854775806, 4294967294, 1.5, NULL), (2, -127, 0, -9223372036854775807, 0, NULL, 5), (3, 0, 9223372036854775807, 0, 100, 0, 0)",
	"CREATE TABLE ci (id INT PRIMARY KEY, s VARCHAR(10) COLLATE utf8mb4_0900_ai_ci, b VARCHAR(10) COLLATE utf8mb4_0900_bin)",
	"INSERT INTO ci VALUES (1, 'abc', 'abc')",
	"CREATE TABLE k2 (a TINYINT, b BIGINT UNSIGNED, v INT, PRIMARY KEY (a, b))",
	"INSERT INTO k2 VALUES (1, 10, 0), (1, 11, 0), (2, 10, 0)",
	"CREATE TABLE uk (id INT UNSIGNED PRIMARY KEY, v INT)",
	"INSERT INTO uk VALUES (5, 0), (6, 0)",
	"CREATE TABLE parent (id INT PRIMARY KEY, v INT)",
	"CREATE TABLE child (id INT PRIMARY KEY, pid INT, v INT, FOREIGN KEY (pid) REFERENCES parent (id))",
	"INSERT INTO parent VALUES (1, 0), (2, 0)",
	"INSERT INTO child VALUES (1, 1, 0)",
	"CREATE TABLE chk (id INT PRIMARY KEY, v INT, CHECK (v < 100))",
	"INSERT INTO chk VALUES (1, 1)",
	"CREATE TABLE gen (id INT PRIMARY KEY, v INT, w INT AS (v * 2) STORED)",
	"INSERT INTO gen (id, v) VALUES (1, 1)",
	"CREATE TABLE onup (id INT PRIMARY KEY, v INT, ts TIMESTAMP DEFAULT '2020-01-01 00:00:00' ON UPDATE CURRENT_TIMESTAMP)",
	"INSERT INTO onup (id, v) VALUES (1, 1)",
	"CREATE TABLE nokey (id INT, v INT)",
	"INSERT INTO nokey VALUES (1, 1)",
	"CREATE TABLE spk (id VARCHAR(10) PRIMARY KEY, v INT)",
	"INSERT INTO spk VALUES ('1', 1)",
	"CREATE VIEW vw AS SELECT id, k FROM sb",
	"CREATE DATABASE trg",
	"CREATE TABLE trg.t (id INT PRIMARY KEY, v INT)",
	"CREATE TABLE trg.log (v INT)",
	"INSERT INTO trg.t VALUES (1, 1)",
	"CREATE TRIGGER trg.tr AFTER UPDATE ON trg.t FOR EACH ROW INSERT INTO trg.log VALUES (NEW.v)",
	"CREATE TABLE pol (id INT PRIMARY KEY, bank VARCHAR(4) NOT NULL, c VARCHAR(10), amount INT NOT NULL, UNIQUE KEY (c), KEY (amount))",
	"INSERT INTO pol VALUES (1, 'A', 'a1', 10), (2, 'B', 'b2', 20), (3, 'A', 'a3', 30), (4, 'B', 'b4', 40)",
	`CREATE USER alice IDENTIFIED BY 'p' ATTRIBUTE '{"bank":"A"}'`,
	"GRANT ALL ON *.* TO alice",
	"CREATE USER audrey IDENTIFIED BY 'p'",
	"CREATE ROLE auditor",
	"GRANT auditor TO audrey",
	"GRANT ALL ON *.* TO audrey",
	"CREATE USER reader IDENTIFIED BY 'p'",
	"GRANT SELECT ON *.* TO reader",
	"CREATE USER writer IDENTIFIED BY 'p'",
	"GRANT UPDATE, DELETE ON *.* TO writer",
	`CREATE POLICY by_bank ON pol USING 'row.bank == principal.attributes.bank'`,
	`CREATE POLICY audit ON pol FOR SELECT TO auditor USING 'true'`,
}

// pointWriteDump renders what both engines must agree on after the
// comparison: every table's rows, the rows found through each secondary
// index (stale or missing entries show there), and the session values a
// write must leave alone.
var pointWriteDump = []string{
	"SELECT * FROM sb ORDER BY id",
	"SELECT id, k FROM sb WHERE k > -1000 ORDER BY k, id",
	"SELECT id FROM sb WHERE k IN (10, 11, 20, 17, 30, 40, 50)",
	"SELECT id, c FROM sb WHERE c IN ('one', 'uno', 'two', 'three', 'tres', 'four', 'five')",
	"SELECT * FROM nums ORDER BY id",
	"SELECT id, s, b, s = 'ABC', b = 'ABC' FROM ci ORDER BY id",
	"SELECT * FROM k2 ORDER BY a, b",
	"SELECT * FROM uk ORDER BY id",
	"SELECT * FROM parent ORDER BY id",
	"SELECT * FROM child ORDER BY id",
	"SELECT * FROM chk ORDER BY id",
	"SELECT * FROM gen ORDER BY id",
	"SELECT id, v FROM onup ORDER BY id",
	"SELECT * FROM nokey ORDER BY id",
	"SELECT * FROM spk ORDER BY id",
	"SELECT * FROM trg.t ORDER BY id",
	"SELECT * FROM trg.log ORDER BY v",
	"SELECT LAST_INSERT_ID()",
}

// policyDump is pointWriteDump for the policied table, as the auditor
// (who sees every row) reads it.
var policyDump = []string{
	"SELECT * FROM pol ORDER BY id",
	"SELECT id, amount FROM pol WHERE amount > -1000 ORDER BY amount, id",
	"SELECT id, c FROM pol WHERE c IN ('a1', 'b2', 'a3', 'b4', 'x')",
}

type pointWriteEnv struct {
	e   *Engine
	ctx map[string]*gmssql.Context
}

func newPointWriteEnv(t *testing.T) *pointWriteEnv {
	e, _ := newTestEngine(t, t.TempDir())
	env := &pointWriteEnv{e: e, ctx: map[string]*gmssql.Context{}}
	admin := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	for _, q := range pointWriteSetup {
		query(t, e, admin, q)
	}
	env.ctx["admin"] = admin
	for _, name := range []string{"alice", "audrey", "reader", "writer"} {
		env.ctx[name] = e.NewContext(context.Background(), txn.Principal{Name: name, Host: "localhost"})
	}
	// A client that sent CLIENT_FOUND_ROWS: matched rows are affected.
	base := gmssql.NewBaseSessionWithClientServer("", gmssql.Client{User: "admin", Address: "localhost", Capabilities: vmysql.CapabilityClientFoundRows}, 0)
	found := gmssql.NewContext(context.Background(), gmssql.WithSession(e.NewSession(base, txn.Principal{Name: "admin", Host: "localhost"})))
	found.SetCurrentDatabase(DefaultDatabase)
	env.ctx["found"] = found
	return env
}

func (env *pointWriteEnv) dump(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, q := range pointWriteDump {
		fmt.Fprintf(&b, "%s: %v\n", q, query(t, env.e, env.ctx["admin"], q))
	}
	for _, q := range policyDump {
		fmt.Fprintf(&b, "%s: %v\n", q, query(t, env.e, env.ctx["audrey"], q))
	}
	return b.String()
}

// TestPointWriteMatchesAnalyzer: two engines start alike; one runs each
// statement through ExecPointWrite (and through the analyzer when it
// declines), the other through the analyzer only. Each statement must be
// taken or declined as expected, report the same OK packet, ROW_COUNT(),
// FOUND_ROWS() and error code, and both must end with the same tables,
// index contents and LAST_INSERT_ID().
func TestPointWriteMatchesAnalyzer(t *testing.T) {
	fast, slow := newPointWriteEnv(t), newPointWriteEnv(t)
	const (
		incK   = "UPDATE sb SET k = k + 1 WHERE id = ?"
		setC   = "UPDATE sb SET c = ? WHERE id = ?"
		setK   = "UPDATE sb SET k = ? WHERE id = ?"
		delSB  = "DELETE FROM sb WHERE id = ?"
		amount = "UPDATE pol SET amount = ? WHERE id = ?"
	)
	cases := []struct {
		who  string
		q    string
		args []any
		fast bool // the fast path answers it
	}{
		{"admin", incK, []any{1}, true},
		{"admin", incK, []any{99}, true},              // no such row: 0 matched
		{"admin", incK, []any{int64(-5)}, true},       // no such row
		{"admin", incK, []any{uint64(2)}, true},       // an unsigned argument
		{"admin", incK, []any{int64(1) << 40}, false}, // out of the key's range
		{"admin", incK, []any{"1"}, false},            // a string key
		{"admin", incK, []any{nil}, false},            // NULL key
		{"admin", "UPDATE sb SET k=k+1 WHERE id=?", []any{1}, true},
		{"admin", "UPDATE `sb` SET `k` = ((`k` + 1)) WHERE (`id` = ?)", []any{1}, true},
		{"admin", setC, []any{"uno", 1}, true},
		{"admin", setC, []any{"uno", 1}, true},   // unchanged: matched 1, changed 0
		{"admin", setC, []any{"two", 1}, true},   // duplicate on the unique index: 1062
		{"admin", setC, []any{"uno  ", 1}, true}, // trailing blanks in CHAR
		{"admin", setC, []any{1.5, 1}, false},    // a float for a CHAR
		{"admin", setC, []any{12, 1}, false},     // an integer for a CHAR
		{"admin", "UPDATE sb SET c = ?, pad = ? WHERE id = ?", []any{"tres", nil, 3}, true},
		{"admin", "UPDATE sb SET pad = ? WHERE id = ?", []any{"much too long", 3}, false}, // 1406
		{"admin", setK, []any{nil, 2}, false},                                             // NULL for NOT NULL: 1048
		{"admin", setK, []any{"12", 2}, false},                                            // a string for an integer
		{"admin", setK, []any{int64(1) << 40, 2}, false},                                  // out of INT's range
		{"admin", setK, []any{17, 2}, true},
		{"admin", "UPDATE sb SET k = k - 3, c = ? WHERE sb.id = ?", []any{"dos", 2}, true},
		{"admin", "UPDATE coffer.sb SET k = k + 0 WHERE coffer.sb.id = ?", []any{2}, true}, // unchanged
		{"found", "UPDATE coffer.sb SET k = k + 0 WHERE id = ?", []any{2}, true},           // CLIENT_FOUND_ROWS
		{"found", setK, []any{18, 2}, true},
		{"admin", "UPDATE sb SET id = ? WHERE id = ?", []any{10, 3}, false}, // the key itself
		{"admin", "UPDATE sb SET k = k + 1 WHERE k = ?", []any{10}, false},  // not the key
		{"admin", delSB, []any{4}, true},
		{"admin", delSB, []any{4}, true}, // gone: 0 rows
		{"admin", "DELETE FROM coffer.sb WHERE sb.id = ?", []any{int64(-1)}, true},

		// Integer arithmetic at the edges of its types and the columns'.
		{"admin", "UPDATE nums SET ti = ti + 1 WHERE id = ?", []any{1}, true},  // 127
		{"admin", "UPDATE nums SET ti = ti + 1 WHERE id = ?", []any{1}, false}, // 128: out of TINYINT
		{"admin", "UPDATE nums SET ti = ti - 1 WHERE id = ?", []any{2}, true},  // -128
		{"admin", "UPDATE nums SET ti = ti - 1 WHERE id = ?", []any{2}, false},
		{"admin", "UPDATE nums SET u = u + 200 WHERE id = ?", []any{3}, true},                   // 200 is unsigned: uint64 arithmetic
		{"admin", "UPDATE nums SET u = u + 18446744073709551615 WHERE id = ?", []any{3}, false}, // past uint64
		{"admin", "UPDATE nums SET u = u + 1 WHERE id = ?", []any{1}, false},                    // above int64, where 1's arithmetic is
		{"admin", "UPDATE nums SET u = u - 200 WHERE id = ?", []any{2}, false},                  // below zero
		{"admin", "UPDATE nums SET u = u - 1 WHERE id = ?", []any{2}, false},
		{"admin", "UPDATE nums SET ui = ? WHERE id = ?", []any{uint64(1)<<32 + 5, 2}, false}, // past INT UNSIGNED
		{"admin", "UPDATE nums SET i = i + 1 WHERE id = ?", []any{1}, true},                  // MaxInt64
		{"admin", "UPDATE nums SET i = i + 1 WHERE id = ?", []any{1}, false},
		{"admin", "UPDATE nums SET i = i - 1 WHERE id = ?", []any{2}, true}, // MinInt64
		{"admin", "UPDATE nums SET i = i - 1 WHERE id = ?", []any{2}, false},
		{"admin", "UPDATE nums SET ui = ui + 1 WHERE id = ?", []any{1}, true},
		{"admin", "UPDATE nums SET ui = ui + 1 WHERE id = ?", []any{1}, false},
		{"admin", "UPDATE nums SET ui = ui + 9223372036854775808 WHERE id = ?", []any{3}, false},
		{"admin", "UPDATE nums SET n = n + 18446744073709551615 WHERE id = ?", []any{2}, false},
		{"admin", "UPDATE nums SET n = n + 1 WHERE id = ?", []any{1}, true}, // NULL stays NULL: unchanged
		{"admin", "UPDATE nums SET n = n + 1, ti = ? WHERE id = ?", []any{5, 2}, true},
		{"admin", "UPDATE nums SET n = n + -7 WHERE id = ?", []any{3}, true},
		{"admin", "UPDATE nums SET f = f + 1 WHERE id = ?", []any{1}, false}, // not an integer
		{"admin", "UPDATE nums SET f = ? WHERE id = ?", []any{2.25, 1}, true},
		{"admin", "UPDATE nums SET f = ? WHERE id = ?", []any{nil, 3}, true},
		{"admin", "UPDATE nums SET f = ? WHERE id = ?", []any{7, 3}, false}, // an integer for a DOUBLE
		// `col ± ?`: the parameter counts as the integer literal it holds
		// (the form NormalizeLiterals makes of `col + 5` sent as text).
		{"admin", "UPDATE sb SET k = k + ? WHERE id = ?", []any{5, 1}, true},
		{"admin", "UPDATE sb SET k = k - ? WHERE id = ?", []any{int64(-3), 1}, true},
		{"admin", "UPDATE sb SET k = k + ? WHERE id = ?", []any{"5", 1}, false}, // a string
		{"admin", "UPDATE sb SET k = k + ? WHERE id = ?", []any{nil, 1}, false}, // NULL
		{"admin", "UPDATE sb SET k = k + ? WHERE id = ?", []any{1.5, 1}, false}, // a float
		{"admin", "UPDATE nums SET u = u + ? WHERE id = ?", []any{200, 3}, true},
		{"admin", "UPDATE nums SET u = u - ? WHERE id = ?", []any{uint64(1) << 40, 3}, false}, // below zero
		{"admin", "UPDATE nums SET i = i + ? WHERE id = ?", []any{1, 2}, false},               // past MaxInt64
		{"admin", "UPDATE nums SET f = f + ? WHERE id = ?", []any{1, 1}, false},               // not an integer column

		// Collations decide what counts as changed.
		{"admin", "UPDATE ci SET s = ? WHERE id = ?", []any{"ABC", 1}, true}, // equal: not written
		{"admin", "UPDATE ci SET b = ? WHERE id = ?", []any{"ABC", 1}, true},
		{"admin", "UPDATE k2 SET v = v + 1 WHERE b = ? AND a = ?", []any{10, 1}, true},
		{"admin", "UPDATE k2 SET v = ? WHERE a = ? AND b = ?", []any{7, 2, 10}, true},
		{"admin", "DELETE FROM k2 WHERE a = ? AND b = ?", []any{1, 11}, true},
		{"admin", "UPDATE k2 SET v = ? WHERE a = ?", []any{7, 1}, false}, // part of the key
		// go-mysql-server converts 2^32+5 to INT UNSIGNED as 5, "in range".
		{"admin", "DELETE FROM uk WHERE id = ?", []any{uint64(1)<<32 + 5}, false},
		{"admin", "UPDATE uk SET v = ? WHERE id = ?", []any{1, uint64(1)<<32 + 6}, false},
		{"admin", "DELETE FROM uk WHERE id = ?", []any{uint64(6)}, true},

		// What go-mysql-server does more of, or that is not a stored table.
		{"admin", "UPDATE parent SET v = ? WHERE id = ?", []any{1, 1}, false},
		{"admin", "DELETE FROM parent WHERE id = ?", []any{1}, false}, // referenced: 1451
		{"admin", "UPDATE child SET pid = ? WHERE id = ?", []any{7, 1}, false},
		{"admin", "UPDATE chk SET v = ? WHERE id = ?", []any{200, 1}, false}, // 3819
		{"admin", "UPDATE gen SET v = ? WHERE id = ?", []any{5, 1}, false},
		{"admin", "UPDATE onup SET v = ? WHERE id = ?", []any{5, 1}, false},
		{"admin", "UPDATE nokey SET v = ? WHERE id = ?", []any{5, 1}, false},
		{"admin", "UPDATE spk SET v = ? WHERE id = ?", []any{5, 1}, false},
		{"admin", "UPDATE vw SET k = ? WHERE id = ?", []any{5, 1}, false},
		{"admin", "UPDATE trg.t SET v = ? WHERE id = ?", []any{5, 1}, false},
		{"admin", "DELETE FROM information_schema.tables WHERE id = ?", []any{1}, false},

		// Privileges.
		{"reader", incK, []any{1}, false}, // no UPDATE privilege: 1142
		{"reader", delSB, []any{1}, false},
		{"writer", incK, []any{1}, true},
		{"writer", delSB, []any{3}, true},

		// Row policies: alice sees and writes bank A's rows; the
		// auditor sees all rows and may write none; the administrator
		// sees none.
		{"alice", "UPDATE pol SET amount = amount + 1 WHERE id = ?", []any{1}, true},
		{"alice", "UPDATE pol SET amount = amount + 1 WHERE id = ?", []any{2}, true}, // hidden: 0 matched
		{"alice", "DELETE FROM pol WHERE id = ?", []any{2}, true},                    // hidden: 0 deleted
		{"alice", "UPDATE pol SET bank = ? WHERE id = ?", []any{"B", 3}, true},       // WITH CHECK fails
		{"alice", "UPDATE pol SET c = ? WHERE id = ?", []any{"b2", 1}, true},         // key held by a hidden row
		{"alice", "UPDATE pol SET c = ? WHERE id = ?", []any{"a3", 1}, true},         // key held by a visible row
		{"audrey", amount, []any{5, 2}, true},                                        // visible, not updatable
		{"audrey", amount, []any{20, 2}, true},                                       // unchanged: never reaches the policy
		{"audrey", "DELETE FROM pol WHERE id = ?", []any{2}, true},
		{"admin", amount, []any{1, 1}, true},
		{"admin", "DELETE FROM pol WHERE id = ?", []any{1}, true},
		{"alice", "DELETE FROM pol WHERE id = ?", []any{3}, true},
	}
	before := fast.e.FastHits()
	taken := uint64(0)
	for _, c := range cases {
		fctx, sctx := fast.ctx[c.who], slow.ctx[c.who]
		// A statement that failed before go-mysql-server built its
		// iterators leaves its autocommit transaction for the next one;
		// the fast path takes it over as the analyzer would.
		was := fctx.GetTransaction()
		res, handled, err := fastWrite(fast.e, fctx, c.q, c.args)
		if handled != c.fast {
			t.Errorf("%s %s %v: fast path taken=%v, want %v (err %v)", c.who, c.q, c.args, handled, c.fast, err)
		}
		if handled {
			taken++
		} else {
			if fctx.GetTransaction() != was {
				t.Errorf("%s %s %v: declining changed the session's transaction", c.who, c.q, c.args)
			}
			res, err = slowWrite(t, fast.e, fctx, c.q, c.args)
		}
		got := writeOutcome(t, fast.e, fctx, res, err)
		res, err = slowWrite(t, slow.e, sctx, c.q, c.args)
		want := writeOutcome(t, slow.e, sctx, res, err)
		if got != want {
			t.Errorf("%s %s %v:\n fast %s\n slow %s", c.who, c.q, c.args, got, want)
		}
	}
	if hits := fast.e.FastHits() - before; hits != taken {
		t.Errorf("FastHits moved by %d, want %d", hits, taken)
	}
	if got, want := fast.dump(t), slow.dump(t); got != want {
		t.Errorf("tables differ:\nfast\n%s\nslow\n%s", got, want)
	}
}

// TestPointWriteTransactions: inside an explicit transaction the fast
// path writes into it (the transaction reads its own writes, others do
// not, a rollback undoes them) and leaves it open; a failed statement
// undoes only itself; a write conflict at commit is MySQL's 1213.
func TestPointWriteTransactions(t *testing.T) {
	e, _ := newTestEngine(t, t.TempDir())
	a := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	b := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
	query(t, e, a, "CREATE TABLE t (id INT PRIMARY KEY, k INT NOT NULL, c VARCHAR(10), UNIQUE KEY (c))")
	query(t, e, a, "INSERT INTO t VALUES (1, 10, 'a'), (2, 20, 'b')")
	write := func(ctx *gmssql.Context, q string, args ...any) error {
		t.Helper()
		_, handled, err := fastWrite(e, ctx, q, args)
		if !handled {
			t.Fatalf("%s %v: not handled", q, args)
		}
		return err
	}
	read := func(ctx *gmssql.Context) string {
		t.Helper()
		return fmt.Sprint(query(t, e, ctx, "SELECT id, k, c FROM t ORDER BY id"))
	}
	const incK = "UPDATE t SET k = k + 1 WHERE id = ?"

	lastCommit := func() string { return fmt.Sprint(query(t, e, a, "SELECT coffer_last_commit()")) }
	c0 := lastCommit()
	if err := write(a, incK, 1); err != nil {
		t.Fatal(err)
	}
	if c1 := lastCommit(); c1 == c0 {
		t.Errorf("coffer_last_commit() did not move after an autocommit update: %s", c1)
	}

	query(t, e, a, "BEGIN")
	if err := write(a, incK, 1); err != nil {
		t.Fatal(err)
	}
	if err := write(a, "DELETE FROM t WHERE id = ?", 2); err != nil {
		t.Fatal(err)
	}
	if err := write(a, "UPDATE t SET c = ? WHERE id = ?", "b", 1); err != nil {
		t.Fatal(err) // the deleted row's key is free inside the transaction
	}
	if err := write(a, "UPDATE t SET c = ? WHERE id = ?", "z", 7); err != nil {
		t.Fatal(err)
	}
	if a.GetTransaction() == nil {
		t.Fatal("the explicit transaction was ended")
	}
	if got := read(a); got != "[[1 12 b]]" {
		t.Errorf("own writes: %s", got)
	}
	if got := read(b); got != "[[1 11 a] [2 20 b]]" {
		t.Errorf("another session sees uncommitted writes: %s", got)
	}
	query(t, e, a, "ROLLBACK")
	if got := read(a); got != "[[1 11 a] [2 20 b]]" {
		t.Errorf("after rollback: %s", got)
	}

	// A failing statement undoes itself only.
	query(t, e, a, "BEGIN")
	if err := write(a, incK, 1); err != nil {
		t.Fatal(err)
	}
	if err := write(a, "UPDATE t SET c = ? WHERE id = ?", "b", 1); err == nil || gmssql.CastSQLError(err).Num != vmysql.ERDupEntry {
		t.Fatalf("duplicate key: %v", err)
	}
	if a.GetTransaction() == nil {
		t.Fatal("a failed statement ended the explicit transaction")
	}
	query(t, e, a, "COMMIT")
	if got := read(b); got != "[[1 12 a] [2 20 b]]" {
		t.Errorf("after commit: %s", got)
	}

	// First committer wins between a write that took no row lock (the
	// analyzer's, here) and one that did (rowlock_test.go has writers
	// that both lock).
	query(t, e, a, "BEGIN")
	query(t, e, a, "UPDATE t SET k = k + 1 WHERE id = 1 AND c = 'a'")
	if err := write(b, incK, 1); err != nil {
		t.Fatal(err)
	}
	_, iter, _, err := e.Query(a, "COMMIT")
	if err == nil {
		_, err = gmssql.RowIterToRows(a, iter)
	}
	if !isConflict(err) {
		t.Fatalf("conflicting commit: %v", err)
	}
	if got := read(b); got != "[[1 13 a] [2 20 b]]" {
		t.Errorf("after the conflict: %s", got)
	}

	// autocommit off with no transaction open: the statement would open
	// one that outlives it, so the analyzer runs it.
	query(t, e, a, "SET autocommit = 0")
	query(t, e, a, "COMMIT")
	if _, handled, _ := fastWrite(e, a, incK, []any{1}); handled {
		t.Error("handled a write that opens a transaction under autocommit=0")
	}
	query(t, e, a, "SET autocommit = 1")

	// A read-only transaction refuses writes the analyzer's way.
	query(t, e, a, "START TRANSACTION READ ONLY")
	if _, handled, _ := fastWrite(e, a, incK, []any{1}); handled {
		t.Error("handled a write in a read-only transaction")
	}
	query(t, e, a, "COMMIT")
}
