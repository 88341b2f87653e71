package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
)

// TestTransactionControlMatchesAnalyzer runs BEGIN / START TRANSACTION /
// COMMIT / ROLLBACK scripts, as text and as prepared statements, against a
// server whose fast path answers them and one whose analyzer does, and
// compares every statement's outcome and the rows after each script. It
// also checks that the fast path answered them.
func TestTransactionControlMatchesAnalyzer(t *testing.T) {
	fast, fs, slow := startFastAndSlow(t)
	ctx := context.Background()
	script := []string{
		"BEGIN",
		"UPDATE tc SET v = 11 WHERE id = 1",
		"ROLLBACK",
		"SELECT id, v FROM tc ORDER BY id",
		"START TRANSACTION",
		"UPDATE tc SET v = v + 2 WHERE id = 1",
		"BEGIN", // commits the open transaction
		"UPDATE tc SET v = 21 WHERE id = 2",
		"rollback;",
		"SELECT id, v FROM tc ORDER BY id",
		"START TRANSACTION READ ONLY",
		"UPDATE tc SET v = 13 WHERE id = 1", // 1792: read-only transaction
		"COMMIT",
		"COMMIT", // no transaction open
		"ROLLBACK",
		"SET autocommit = 0",
		"UPDATE tc SET v = 14 WHERE id = 1",
		"ROLLBACK",
		"UPDATE tc SET v = v + 1 WHERE id = 2",
		"commit",
		"SET autocommit = 1",
		"START TRANSACTION READ WRITE",
		"INSERT INTO tc VALUES (3, 30)",
		"COMMIT",
		"SELECT id, v FROM tc ORDER BY id",
	}
	for _, prepared := range []bool{false, true} {
		var outs [2]strings.Builder
		before := fs.fast.hits.Load()
		for i, db := range []*sql.DB{fast, slow} {
			b := &outs[i]
			for _, q := range []string{"DROP TABLE IF EXISTS tc", "CREATE TABLE tc (id INT PRIMARY KEY, v INT)", "INSERT INTO tc VALUES (1, 10), (2, 20)"} {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range script {
				fmt.Fprintf(b, "%s: ", q)
				if strings.HasPrefix(q, "SELECT") {
					appendConnQuery(t, b, conn, q)
					continue
				}
				var err error
				if prepared && !strings.HasPrefix(q, "SET") {
					var st *sql.Stmt
					if st, err = conn.PrepareContext(ctx, q); err == nil {
						_, err = st.Exec()
						st.Close()
					}
				} else {
					_, err = conn.ExecContext(ctx, q)
				}
				writeOutcome(t, b, q, err)
			}
			conn.Close()
		}
		if outs[0].String() != outs[1].String() {
			t.Errorf("prepared=%v:\nfast:\n%s\nanalyzer:\n%s", prepared, outs[0].String(), outs[1].String())
		}
		if hits := fs.fast.hits.Load() - before; hits < 12 {
			t.Errorf("prepared=%v: the fast path answered %d statements, want at least 12 (the transaction-control ones)", prepared, hits)
		}
	}
}

// TestCommitConflictOnTheFastPath: a COMMIT that loses a write conflict
// answers 1213 / 40001 through the fast path as through the analyzer, and
// the session goes on.
func TestCommitConflictOnTheFastPath(t *testing.T) {
	fast, _, slow := startFastAndSlow(t)
	ctx := context.Background()
	var outs [2]strings.Builder
	for i, db := range []*sql.DB{fast, slow} {
		b := &outs[i]
		for _, q := range []string{"CREATE TABLE tc (id INT PRIMARY KEY, v INT)", "INSERT INTO tc VALUES (1, 10), (2, 20)"} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		a, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		other, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		step := func(c *sql.Conn, q string) {
			_, err := c.ExecContext(ctx, q)
			fmt.Fprintf(b, "%s: ", q)
			writeOutcome(t, b, q, err)
		}
		step(a, "BEGIN")
		// A range update goes through the analyzer and takes no row lock:
		// the conflict is found at COMMIT.
		step(a, "UPDATE tc SET v = 99 WHERE id >= 2")
		step(other, "UPDATE tc SET v = v + 1 WHERE id = 2")
		step(a, "COMMIT")
		fmt.Fprint(b, "after: ")
		appendConnQuery(t, b, a, "SELECT id, v FROM tc ORDER BY id")
		a.Close()
		other.Close()
	}
	if outs[0].String() != outs[1].String() {
		t.Errorf("fast:\n%s\nanalyzer:\n%s", outs[0].String(), outs[1].String())
	}
	if !strings.Contains(outs[0].String(), "COMMIT: error 1213 40001") {
		t.Errorf("the COMMIT did not lose the conflict:\n%s", outs[0].String())
	}
}

func writeOutcome(t *testing.T, b *strings.Builder, q string, err error) {
	t.Helper()
	if err == nil {
		b.WriteString("ok\n")
		return
	}
	var me *gomysql.MySQLError
	if !errors.As(err, &me) {
		t.Fatalf("%s: %v", q, err)
	}
	fmt.Fprintf(b, "error %d %s\n", me.Number, me.SQLState)
}

func appendConnQuery(t *testing.T, b *strings.Builder, c *sql.Conn, q string) {
	t.Helper()
	rows, err := c.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, v sql.NullInt64
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(b, "(%d,%d) ", id.Int64, v.Int64)
	}
	b.WriteString("\n")
}
