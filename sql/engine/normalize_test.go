package engine

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

func TestNormalizeLiterals(t *testing.T) {
	for q, want := range map[string]string{
		"UPDATE t SET k = k + 5 WHERE id = 7":                                   "update t set k = k + :v1 where id = :v2",
		"UPDATE pgbench_accounts SET abalance = (abalance + -12) WHERE aid = 3": "update pgbench_accounts set abalance = (abalance + :v1) where aid = :v2",
		"  select c from t where id = 'x';":                                     "select c from t where id = :v1",
		"SELECT c FROM t WHERE id BETWEEN 5 AND 5":                              "select c from t where id between :v1 and :v1",
		"DELETE FROM t WHERE id = -3":                                           "delete from t where id = :v1",
		"INSERT INTO t VALUES (1, 'a')":                                         "insert into t values (:v1, :v2)",
	} {
		got, vals, ok := NormalizeLiterals(q)
		if !ok || got != want || len(vals) == 0 {
			t.Errorf("%q: %q %v %v, want %q", q, got, vals, ok, want)
		}
	}
	for _, q := range []string{
		"UPDATE t SET f = 1.5 WHERE id = 1",   // a decimal literal
		"UPDATE t SET f = 1e3 WHERE id = 1",   // a float literal
		"UPDATE t SET k = ? WHERE id = 1",     // parameters of its own
		"SELECT 1; SELECT 2",                  // two statements
		"SELECT NOW() FROM t",                 // no literal
		"SHOW TABLES",                         // not a DML statement
		"CREATE TABLE t (id INT PRIMARY KEY)", // nor this
		"UPDATE t SET c = '" + strings.Repeat("x", 600) + "' WHERE id = 1", // too long
		"EXPLAIN SELECT c FROM t WHERE id = 1",
	} {
		if got, _, ok := NormalizeLiterals(q); ok {
			t.Errorf("%q: normalized to %q", q, got)
		}
	}
}

// TestNormalizedTextMatchesAnalyzer: statements sent as text, run through
// NormalizeLiterals and the fast paths in one engine and as written
// through the analyzer in another, give the same results and tables.
func TestNormalizedTextMatchesAnalyzer(t *testing.T) {
	fast, slow := newPointWriteEnv(t), newPointWriteEnv(t)
	statements := []struct {
		q    string
		fast bool
	}{
		{"UPDATE sb SET k = k + 5 WHERE id = 1", true},
		{"UPDATE sb SET k = k + -7 WHERE id = 1", true},
		{"UPDATE sb SET k = k - 200 WHERE id = 2", true},
		{"UPDATE sb SET c = 'siete' WHERE id = 1", true},
		{"UPDATE sb SET c = 'two' WHERE id = 1", true}, // duplicate key
		{"UPDATE sb SET k = 1.5 WHERE id = 1", false},  // decimal: not normalized
		{"UPDATE sb SET k = '12' WHERE id = 1", false}, // a string for an integer
		{"DELETE FROM sb WHERE id = 2", true},
		{"UPDATE nums SET u = u + 200 WHERE id = 3", true},
		{"UPDATE nums SET ti = ti + 1 WHERE id = 1", true},
		{"UPDATE nums SET ti = ti + 1 WHERE id = 1", false}, // out of TINYINT: the analyzer decides
	}
	for _, s := range statements {
		fctx, sctx := fast.ctx["admin"], slow.ctx["admin"]
		norm, vals, ok := NormalizeLiterals(s.q)
		var (
			res     types.OkResult
			handled bool
			err     error
		)
		if ok {
			res, handled, err = fastWrite(fast.e, fctx, norm, bindArgs(t, vals))
		}
		if handled != s.fast {
			t.Errorf("%s: fast path taken=%v, want %v (err %v)", s.q, handled, s.fast, err)
		}
		if !handled {
			res, err = slowWrite(t, fast.e, fctx, s.q, nil)
		}
		got := writeOutcome(t, fast.e, fctx, res, err)
		res, err = slowWrite(t, slow.e, sctx, s.q, nil)
		if want := writeOutcome(t, slow.e, sctx, res, err); got != want {
			t.Errorf("%s:\n fast %s\n slow %s", s.q, got, want)
		}
	}
	if got, want := fast.dump(t), slow.dump(t); got != want {
		t.Errorf("tables differ:\nfast\n%s\nslow\n%s", got, want)
	}
}

// bindArgs turns normalized values into fastWrite's positional arguments.
func bindArgs(t *testing.T, vals map[string]*querypb.BindVariable) []any {
	t.Helper()
	args := make([]any, len(vals))
	for name, bv := range vals {
		var i int
		if _, err := fmt.Sscan(strings.TrimPrefix(name, "v"), &i); err != nil || i < 1 || i > len(args) {
			t.Fatalf("bind variable %s", name)
		}
		switch {
		case sqltypes.IsSigned(bv.Type):
			n, err := strconv.ParseInt(string(bv.Value), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			args[i-1] = n
		case sqltypes.IsUnsigned(bv.Type):
			n, err := strconv.ParseUint(string(bv.Value), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			args[i-1] = n
		default:
			args[i-1] = string(bv.Value)
		}
	}
	return args
}
