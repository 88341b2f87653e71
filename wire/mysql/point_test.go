package mysql

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
)

// TestPointSelectWire: prepared point selects are answered by the fast
// path, and a client sees exactly what the analyzer's answer looks like —
// column metadata and values — including NULLs, a missing row, and inside
// an explicit transaction.
func TestPointSelectWire(t *testing.T) {
	fast, fs := startServerWith(t, nil)
	slow, _ := startServerWith(t, func(c *Config) { c.NoFastPaths = true })
	setup := []string{
		"CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, c CHAR(20) NOT NULL DEFAULT '', pad VARCHAR(60), d DECIMAL(10,2), ts DATETIME(3), b VARBINARY(8), u BIGINT UNSIGNED NOT NULL, f DOUBLE, j JSON)",
		"INSERT INTO t VALUES (1, 'one', 'p1', 1.25, '2026-11-25 10:00:00.123', 0x0102, 18446744073709551615, 2.5, '{\"a\": 1}'), (2, 'two', NULL, NULL, NULL, NULL, 0, NULL, NULL)",
	}
	for _, db := range []*sql.DB{fast, slow} {
		for _, q := range setup {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	render := func(db *sql.DB, q string, args ...any) string {
		t.Helper()
		rows, err := db.Query(q, args...)
		if err != nil {
			t.Fatalf("%s %v: %v", q, args, err)
		}
		defer rows.Close()
		cts, err := rows.ColumnTypes()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, ct := range cts {
			n, _ := ct.Nullable()
			l, _ := ct.Length()
			p, s, _ := ct.DecimalSize()
			fmt.Fprintf(&b, "%s %s %v %d %d,%d %v; ", ct.Name(), ct.DatabaseTypeName(), n, l, p, s, ct.ScanType())
		}
		vals := make([]sql.RawBytes, len(cts))
		ptrs := make([]any, len(cts))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			b.WriteString("\n")
			for _, v := range vals {
				if v == nil {
					b.WriteString("NULL|")
				} else {
					fmt.Fprintf(&b, "%q|", v)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	before := fs.points.hits.Load()
	n := 0
	for _, q := range []string{
		"SELECT c FROM t WHERE id = ?",
		"SELECT * FROM t WHERE id = ?",
		"SELECT id, c, pad, d, ts, b, u, f, j FROM t WHERE ? = id",
	} {
		for _, arg := range []any{1, 2, 3, int64(-1), uint64(1)} {
			got, want := render(fast, q, arg), render(slow, q, arg)
			if got != want {
				t.Errorf("%s (%v):\nfast %s\nslow %s", q, arg, got, want)
			}
			n++
		}
	}
	if hits := fs.points.hits.Load() - before; hits != uint64(n) {
		t.Errorf("the fast path answered %d of %d executions", hits, n)
	}

	// A string argument is left to the analyzer (MySQL compares it as a
	// number), and still gives the right row.
	before = fs.points.hits.Load()
	if got, want := render(fast, "SELECT c FROM t WHERE id = ?", "1"), render(slow, "SELECT c FROM t WHERE id = ?", "1"); got != want {
		t.Errorf("string argument:\nfast %s\nslow %s", got, want)
	}
	if fs.points.hits.Load() != before {
		t.Error("the fast path answered a string argument")
	}

	// Inside a transaction: own writes, then the snapshot after commit.
	tx, err := fast.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("UPDATE t SET c = 'uno' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	var c string
	if err := tx.QueryRow("SELECT c FROM t WHERE id = ?", 1).Scan(&c); err != nil || c != "uno" {
		t.Fatalf("own write: %q %v", c, err)
	}
	if err := fast.QueryRow("SELECT c FROM t WHERE id = ?", 1).Scan(&c); err != nil || c != "one" {
		t.Fatalf("another connection sees an uncommitted write: %q %v", c, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := fast.QueryRow("SELECT c FROM t WHERE id = ?", 1).Scan(&c); err != nil || c != "uno" {
		t.Fatalf("after commit: %q %v", c, err)
	}
}
