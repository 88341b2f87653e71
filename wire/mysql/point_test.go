package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
)

// TestPointSelectWire: prepared point selects are answered by the fast
// path, and a client sees exactly what the analyzer's answer looks like —
// column metadata and values — including NULLs, a missing row, and inside
// an explicit transaction.
func TestPointSelectWire(t *testing.T) {
	fast, fs, slow := startFastAndSlow(t)
	setup := []string{
		"CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, c CHAR(20) NOT NULL DEFAULT '', pad VARCHAR(60), d DECIMAL(10,2), ts DATETIME(3), b VARBINARY(8), u BIGINT UNSIGNED NOT NULL, f DOUBLE, j JSON)",
		"INSERT INTO t VALUES (1, 'one', 'p1', 1.25, '2026-11-25 10:00:00.123', 0x0102, 18446744073709551615, 2.5, '{\"a\": 1}'), (2, 'two', NULL, NULL, NULL, NULL, 0, NULL, NULL)",
	}
	execAll(t, []*sql.DB{fast, slow}, setup...)
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
	before := fs.fast.hits.Load()
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
	if hits := fs.fast.hits.Load() - before; hits != uint64(n) {
		t.Errorf("the fast path answered %d of %d executions", hits, n)
	}

	// Range selects (engine.RangeSelect): rows in key order, sorted,
	// distinct, summed.
	execAll(t, []*sql.DB{fast, slow}, "INSERT INTO t (id, c, u) VALUES (3, 'b', 3), (4, 'a', 4), (5, 'b', 5), (6, 'c', 6), (7, 'a', 7)")
	before = fs.fast.hits.Load()
	n = 0
	for _, q := range []string{
		"SELECT c FROM t WHERE id BETWEEN ? AND ?",
		"SELECT c, id FROM t WHERE id BETWEEN ? AND ? ORDER BY c",
		"SELECT DISTINCT c FROM t WHERE id BETWEEN ? AND ? ORDER BY c",
		"SELECT SUM(u) FROM t WHERE id BETWEEN ? AND ?",
		"SELECT SUM(id) FROM t WHERE id BETWEEN ? AND ?",
	} {
		for _, args := range [][]any{{1, 7}, {3, 6}, {6, 3}, {100, 200}, {int64(-5), uint64(4)}} {
			got, want := render(fast, q, args...), render(slow, q, args...)
			if got != want {
				t.Errorf("%s (%v):\nfast %s\nslow %s", q, args, got, want)
			}
			n++
		}
	}
	if hits := fs.fast.hits.Load() - before; hits != uint64(n) {
		t.Errorf("the fast path answered %d of %d range selects", hits, n)
	}

	// A string argument is left to the analyzer (MySQL compares it as a
	// number), and still gives the right row.
	before = fs.fast.hits.Load()
	if got, want := render(fast, "SELECT c FROM t WHERE id = ?", "1"), render(slow, "SELECT c FROM t WHERE id = ?", "1"); got != want {
		t.Errorf("string argument:\nfast %s\nslow %s", got, want)
	}
	if fs.fast.hits.Load() != before {
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

// TestPointInsertWire: prepared single-row inserts answered by the fast
// path leave the same rows, report the same insert ids and row counts, and
// fail with the same errors as the analyzer's path; statements it declines
// (a NULL for a NOT NULL column, a value too long, a string for an integer
// column) still get the analyzer's answer.
// TestPointInsertNowWire: a prepared insert with NOW(6) among its values
// is answered from the execute packet by the fast path, and stores the
// statement's time to the microsecond, as the analyzer's path does.
func TestPointInsertNowWire(t *testing.T) {
	fast, fs, slow := startFastAndSlow(t)
	execAll(t, []*sql.DB{fast, slow}, "CREATE TABLE n (k INT PRIMARY KEY, t DATETIME(6) NOT NULL)")
	for _, db := range []*sql.DB{fast, slow} {
		h0, p0 := fs.fast.hits.Load(), fs.fast.packets.Load()
		if _, err := db.Exec("INSERT INTO n VALUES (?, NOW(6))", 1); err != nil {
			t.Fatal(err)
		}
		if took := fs.fast.hits.Load() > h0 && fs.fast.packets.Load() > p0; took != (db == fast) {
			t.Errorf("fast path taken=%v on the server with it %v", took, db == fast)
		}
		// Stored as the statement's time: moments before NOW(6) of the
		// next statement, with a fraction of a second.
		var ago, frac int64
		if err := db.QueryRow("SELECT TIMESTAMPDIFF(MICROSECOND, t, NOW(6)), MICROSECOND(t) FROM n WHERE k = 1").Scan(&ago, &frac); err != nil {
			t.Fatal(err)
		}
		if ago < 0 || ago > 10_000_000 {
			t.Errorf("stored %d µs before the next statement", ago)
		}
		// The microseconds kept (zero by chance once in a million runs).
		if frac == 0 {
			t.Errorf("stored without a fraction of a second")
		}
	}
}

func TestPointInsertWire(t *testing.T) {
	fast, fs, slow := startFastAndSlow(t)
	setup := []string{
		"CREATE TABLE ai (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, worker INT NOT NULL, seq BIGINT NOT NULL, pad VARCHAR(12) NOT NULL, f DOUBLE, c CHAR(5), UNIQUE KEY (worker, seq))",
		"CREATE TABLE p (k INT PRIMARY KEY, v VARCHAR(10))",
	}
	execAll(t, []*sql.DB{fast, slow}, setup...)
	outcome := func(db *sql.DB, q string, args ...any) string {
		t.Helper()
		res, err := db.Exec(q, args...)
		if err != nil {
			var me *gomysql.MySQLError
			if errors.As(err, &me) {
				return fmt.Sprintf("error %d %s", me.Number, me.SQLState)
			}
			return "error " + err.Error()
		}
		id, _ := res.LastInsertId()
		n, _ := res.RowsAffected()
		return fmt.Sprintf("id %d rows %d", id, n)
	}
	insAI := "INSERT INTO ai (worker, seq, pad, f, c) VALUES (?, ?, ?, ?, ?)"
	insP := "INSERT INTO p VALUES (?, ?)"
	before := fs.fast.hits.Load()
	cases := []struct {
		q    string
		args []any
		fast bool // the fast path answers it
	}{
		{insAI, []any{1, 1, "a", 1.5, "x"}, true},
		{insAI, []any{1, 2, "bb", nil, nil}, true},
		{insAI, []any{1, 1, "dup", 0.0, "y"}, true},                // duplicate unique key: 1062
		{insAI, []any{2, int64(-5), "", -2.25, "ab  "}, true},      // trailing blanks in CHAR
		{insAI, []any{nil, 3, "null", 1.0, "z"}, false},            // NULL for NOT NULL: 1048
		{insAI, []any{3, 3, "much too long!", 1.0, "z"}, false},    // too long: 1406
		{insAI, []any{"12", 4, "str", 1.0, "z"}, false},            // a string for an integer column
		{insAI, []any{4, uint64(1) << 63, "big", 1.0, "z"}, false}, // out of BIGINT's range: 1264
		{insP, []any{1, "one"}, true},
		{insP, []any{1, "again"}, true},           // duplicate primary key: 1062
		{insP, []any{int64(1) << 40, "x"}, false}, // out of INT's range: 1264
		{"INSERT INTO p (v, k) VALUES (?, ?)", []any{"two", 2}, true},
		{"INSERT INTO p (k) VALUES (?)", []any{3}, true},
		{insAI, []any{5, 5, "after", 2.0, "w"}, true},
		{"INSERT INTO ai (id, worker, seq, pad) VALUES (?, ?, ?, ?)", []any{100, 6, 6, "given"}, true},
		{"INSERT INTO ai (id, worker, seq, pad) VALUES (?, ?, ?, ?)", []any{100, 7, 7, "dup id"}, true}, // 1062
		{"INSERT INTO ai (id, worker, seq, pad) VALUES (?, ?, ?, ?)", []any{0, 8, 8, "zero"}, false},
		{"INSERT INTO ai (id, worker, seq, pad) VALUES (?, ?, ?, ?)", []any{nil, 9, 8, "null"}, false},
		{insAI, []any{5, 6, "after given", 2.0, "w"}, true}, // the counter moved past 100
	}
	n := uint64(0)
	for _, c := range cases {
		h0, p0 := fs.fast.hits.Load(), fs.fast.packets.Load()
		got, want := outcome(fast, c.q, c.args...), outcome(slow, c.q, c.args...)
		if took := fs.fast.hits.Load() > h0; took != c.fast {
			t.Errorf("%s %v: fast path taken=%v, want %v (%s)", c.q, c.args, took, c.fast, got)
		}
		// Answered from the execute packet, without vitess (execute.go).
		if took := fs.fast.packets.Load() > p0; took != c.fast {
			t.Errorf("%s %v: answered from the packet=%v, want %v (%s)", c.q, c.args, took, c.fast, got)
		}
		if got != want {
			t.Errorf("%s %v: fast %s, slow %s", c.q, c.args, got, want)
		}
		if c.fast {
			n++
		}
	}
	if hits := fs.fast.hits.Load() - before; hits != n {
		t.Errorf("the fast path answered %d statements, want %d", hits, n)
	}
	dump := func(db *sql.DB) string {
		var b strings.Builder
		for _, q := range []string{"SELECT id, worker, seq, pad, f, c, CONCAT('[', c, ']') FROM ai ORDER BY id", "SELECT * FROM p ORDER BY k", "SELECT LAST_INSERT_ID()"} {
			appendQuery(t, &b, db, q)
		}
		return b.String()
	}
	fast.SetMaxOpenConns(1) // LAST_INSERT_ID is per connection
	slow.SetMaxOpenConns(1)
	outcome(fast, insAI, 9, 9, "last", 1.0, "l")
	outcome(slow, insAI, 9, 9, "last", 1.0, "l")
	if got, want := dump(fast), dump(slow); got != want {
		t.Errorf("tables differ:\nfast\n%s\nslow\n%s", got, want)
	}

	// Explicit transactions: a rolled back insert is gone, a committed one
	// is there, and an insert inside the transaction is visible to it.
	tx, err := fast.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(insP, 10, "rolled"); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := tx.QueryRow("SELECT v FROM p WHERE k = ?", 10).Scan(&v); err != nil || v != "rolled" {
		t.Fatalf("own insert: %q %v", v, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := fast.QueryRow("SELECT v FROM p WHERE k = ?", 10).Scan(&v); err != sql.ErrNoRows {
		t.Fatalf("rolled back insert: %q %v", v, err)
	}
	tx, _ = fast.Begin()
	if _, err := tx.Exec(insP, 11, "kept"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := fast.QueryRow("SELECT v FROM p WHERE k = ?", 11).Scan(&v); err != nil || v != "kept" {
		t.Fatalf("committed insert: %q %v", v, err)
	}
}

// TestPointWriteWire: prepared primary-key updates and deletes answered
// by the fast path give clients the OK packets (rows affected, with and
// without CLIENT_FOUND_ROWS; insert id 0) and errors of the analyzer's
// path and leave the same tables, indexes and LAST_INSERT_ID; statements
// it declines still get the analyzer's answer.
func TestPointWriteWire(t *testing.T) {
	fast, fs, slow := startFastAndSlow(t)
	setup := []string{
		"CREATE TABLE sbtest1 (id INTEGER NOT NULL AUTO_INCREMENT, k INTEGER DEFAULT '0' NOT NULL, c CHAR(120) DEFAULT '' NOT NULL, pad CHAR(60) DEFAULT '' NOT NULL, PRIMARY KEY (id), KEY k_1 (k), UNIQUE KEY uc (pad))",
		"INSERT INTO sbtest1 (k, c, pad) VALUES (10, 'c1', 'p1'), (20, 'c2', 'p2'), (30, 'c3', 'p3'), (40, 'c4', 'p4')",
		"CREATE TABLE pol (id INT PRIMARY KEY, bank VARCHAR(4) NOT NULL, amount INT NOT NULL)",
		"INSERT INTO pol VALUES (1, 'A', 10), (2, 'B', 20)",
		`CREATE USER alice IDENTIFIED BY 'p' ATTRIBUTE '{"bank":"A"}'`,
		"GRANT ALL ON *.* TO alice",
		"CREATE USER reader IDENTIFIED BY 'p'",
		"GRANT SELECT ON *.* TO reader",
		`CREATE POLICY by_bank ON pol USING 'row.bank == principal.attributes.bank'`,
	}
	execAll(t, []*sql.DB{fast, slow}, setup...)
	fast.SetMaxOpenConns(1) // LAST_INSERT_ID is per connection
	slow.SetMaxOpenConns(1)
	as := func(db *sql.DB, user, params string) *sql.DB {
		t.Helper()
		dsn := strings.Replace(dsnOf(t, db), "admin:pw@", user+":p@", 1) + params
		if user == "admin" {
			dsn = dsnOf(t, db) + params
		}
		c, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		c.SetMaxOpenConns(1)
		t.Cleanup(func() { c.Close() })
		return c
	}
	conns := map[string][2]*sql.DB{"admin": {fast, slow}}
	for _, u := range []struct{ name, user, params string }{
		{"alice", "alice", ""}, {"reader", "reader", ""}, {"found", "admin", "?clientFoundRows=true"},
	} {
		conns[u.name] = [2]*sql.DB{as(fast, u.user, u.params), as(slow, u.user, u.params)}
	}
	outcome := func(db *sql.DB, q string, args ...any) string {
		t.Helper()
		res, err := db.Exec(q, args...)
		if err != nil {
			var me *gomysql.MySQLError
			if errors.As(err, &me) {
				return fmt.Sprintf("error %d %s", me.Number, me.SQLState)
			}
			return "error " + err.Error()
		}
		id, _ := res.LastInsertId()
		n, _ := res.RowsAffected()
		return fmt.Sprintf("id %d rows %d", id, n)
	}
	const (
		incK = "UPDATE sbtest1 SET k=k+1 WHERE id=?"
		setC = "UPDATE sbtest1 SET c=? WHERE id=?"
		del  = "DELETE FROM sbtest1 WHERE id=?"
	)
	cases := []struct {
		who  string
		q    string
		args []any
		fast bool
	}{
		{"admin", incK, []any{1}, true},
		{"admin", incK, []any{99}, true},
		{"admin", setC, []any{"new", 2}, true},
		{"admin", setC, []any{"new", 2}, true},                                 // unchanged: 0 rows affected
		{"found", setC, []any{"new", 2}, true},                                 // CLIENT_FOUND_ROWS: 1
		{"admin", setC, []any{strings.Repeat("x", 121), 2}, false},             // too long: 1406
		{"admin", "UPDATE sbtest1 SET pad=? WHERE id=?", []any{"p3", 2}, true}, // duplicate: 1062
		{"admin", "UPDATE sbtest1 SET pad=?, c=? WHERE id=?", []any{"q2", "c", 2}, true},
		{"admin", del, []any{3}, true},
		{"admin", del, []any{3}, true},
		{"admin", "INSERT INTO sbtest1 (id, k, c, pad) VALUES (?, ?, ?, ?)", []any{3, 31, "c3", "p3"}, true},
		{"admin", setC, []any{"str", "4"}, false}, // a string key
		{"alice", "UPDATE pol SET amount = amount + 1 WHERE id = ?", []any{1}, true},
		{"alice", "UPDATE pol SET amount = amount + 1 WHERE id = ?", []any{2}, true}, // hidden: 0
		{"alice", "UPDATE pol SET bank = ? WHERE id = ?", []any{"B", 1}, true},       // WITH CHECK: 1142
		{"alice", "DELETE FROM pol WHERE id = ?", []any{2}, true},
		{"reader", incK, []any{1}, false}, // no UPDATE privilege: 1142
		{"reader", del, []any{1}, false},
	}
	for _, c := range cases {
		f, s := conns[c.who][0], conns[c.who][1]
		h0 := fs.fast.hits.Load()
		got, want := outcome(f, c.q, c.args...), outcome(s, c.q, c.args...)
		if took := fs.fast.hits.Load() > h0; took != c.fast {
			t.Errorf("%s %s %v: fast path taken=%v, want %v (%s)", c.who, c.q, c.args, took, c.fast, got)
		}
		if got != want {
			t.Errorf("%s %s %v: fast %s, slow %s", c.who, c.q, c.args, got, want)
		}
	}
	dump := func(db, alice *sql.DB) string {
		var b strings.Builder
		for _, r := range []struct {
			db *sql.DB
			q  string
		}{
			{db, "SELECT * FROM sbtest1 ORDER BY id"},
			{db, "SELECT id, k FROM sbtest1 WHERE k > 0 ORDER BY k"},
			{db, "SELECT id FROM sbtest1 WHERE pad IN ('p1', 'p2', 'p3', 'p4', 'q2')"},
			{alice, "SELECT * FROM pol ORDER BY id"},
			{db, "SELECT LAST_INSERT_ID(), ROW_COUNT()"},
		} {
			appendQuery(t, &b, r.db, r.q)
		}
		return b.String()
	}
	if got, want := dump(fast, conns["alice"][0]), dump(slow, conns["alice"][1]); got != want {
		t.Errorf("tables differ:\nfast\n%s\nslow\n%s", got, want)
	}

	// Explicit transactions: a rolled back update is undone, and the
	// transaction sees its own writes.
	tx, err := fast.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(setC, "rolled", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(del, 2); err != nil {
		t.Fatal(err)
	}
	var c string
	if err := tx.QueryRow("SELECT c FROM sbtest1 WHERE id = ?", 1).Scan(&c); err != nil || c != "rolled" {
		t.Fatalf("own update: %q %v", c, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := fast.QueryRow("SELECT c FROM sbtest1 WHERE id = ?", 2).Scan(&c); err != nil {
		t.Fatalf("rolled back delete: %v", err)
	}
}

// TestPointWriteConflictsAreRetried: concurrent prepared increments of
// one row, answered by the fast path, conflict at commit and are rerun,
// so none is lost and no client sees 1213.
func TestPointWriteConflictsAreRetried(t *testing.T) {
	db, s := startServerWith(t, nil)
	db.SetMaxOpenConns(8)
	for _, q := range []string{"CREATE TABLE c (id INT PRIMARY KEY, n INT NOT NULL, KEY (n))", "INSERT INTO c VALUES (1, 0)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	const workers, each = 6, 20
	before := s.fast.hits.Load()
	failed := execConcurrently(t, db, workers, each, "UPDATE c SET n = n + 1 WHERE id = ?", 1)
	if hits := s.fast.hits.Load() - before; hits < workers*each {
		t.Errorf("the fast path answered %d executions, want at least %d", hits, workers*each)
	}
	var n, viaIndex int
	if err := db.QueryRow("SELECT n FROM c WHERE id = 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM c WHERE n = ?", n).Scan(&viaIndex); err != nil || viaIndex != 1 {
		t.Fatalf("index lookup of n = %d: %d rows, %v", n, viaIndex, err)
	}
	if n+failed != workers*each || failed > workers*each/10 {
		t.Fatalf("n = %d with %d failed statements, want %d increments", n, failed, workers*each)
	}
}

// appendQuery appends the rows q returns to b, each value quoted.
func appendQuery(t *testing.T, b *strings.Builder, db *sql.DB, q string) {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			fmt.Fprintf(b, "%q ", v)
		}
		b.WriteString("\n")
	}
}

// TestTextQueriesTakeFastPaths: statements sent as text with their
// values written in (COM_QUERY: the mysql client, PyMySQL and other
// drivers that interpolate parameters) are answered by the fast paths
// through engine.NormalizeLiterals, with the same results, errors and
// tables as a server without fast paths; and a text UPDATE by primary key
// waits for another transaction's row lock.
func TestTextQueriesTakeFastPaths(t *testing.T) {
	fast, fs, slow := startFastAndSlow(t)
	fast.SetMaxOpenConns(1)
	slow.SetMaxOpenConns(1)
	execAll(t, []*sql.DB{fast, slow},
		"CREATE TABLE t (id INT PRIMARY KEY, k INT NOT NULL, c VARCHAR(20) NOT NULL, UNIQUE KEY (c), KEY (k))",
		"INSERT INTO t VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, 'c'), (4, 40, 'd')")
	before := fs.fast.hits.Load()
	for _, q := range []string{
		"SELECT c, k FROM t WHERE id = 2",
		"SELECT c FROM t WHERE id = 99",
		"SELECT id, c FROM t WHERE id BETWEEN 1 AND 3 ORDER BY c",
		"SELECT SUM(k) FROM t WHERE id BETWEEN 2 AND 4",
		"UPDATE t SET k = k + 5 WHERE id = 1",
		"UPDATE t SET k = k - -3 WHERE id = 1",
		"UPDATE t SET c = 'it''s' WHERE id = 2",
		"UPDATE t SET c = 'ünï' WHERE id = 3",
		"UPDATE t SET c = 'a' WHERE id = 4", // duplicate: 1062
		"UPDATE t SET k = 1.5 WHERE id = 4", // not normalized: the analyzer
		"DELETE FROM t WHERE id = 3",
		"INSERT INTO t VALUES (5, 50, 'e')",
		"INSERT INTO t VALUES (5, 51, 'f')", // duplicate: 1062
		"SELECT id, k, c FROM t WHERE id = 1",
	} {
		var got, want strings.Builder
		for i, db := range []*sql.DB{fast, slow} {
			b := &got
			if i == 1 {
				b = &want
			}
			if strings.HasPrefix(q, "SELECT") {
				appendQuery(t, b, db, q)
				continue
			}
			res, err := db.Exec(q)
			if err != nil {
				var me *gomysql.MySQLError
				if !errors.As(err, &me) {
					t.Fatalf("%s: %v", q, err)
				}
				fmt.Fprintf(b, "error %d %s", me.Number, me.SQLState)
				continue
			}
			n, _ := res.RowsAffected()
			id, _ := res.LastInsertId()
			fmt.Fprintf(b, "%d %d", n, id)
		}
		if got.String() != want.String() {
			t.Errorf("%s:\n fast %s\n slow %s", q, got.String(), want.String())
		}
	}
	if hits := fs.fast.hits.Load() - before; hits < 10 {
		t.Errorf("the fast paths answered %d text statements, want at least 10", hits)
	}
	var got, want strings.Builder
	appendQuery(t, &got, fast, "SELECT * FROM t ORDER BY id")
	appendQuery(t, &want, slow, "SELECT * FROM t ORDER BY id")
	if got.String() != want.String() {
		t.Errorf("tables differ:\nfast\n%s\nslow\n%s", got.String(), want.String())
	}

	// A text update waits for the row lock of an open transaction.
	fast.SetMaxOpenConns(4)
	ctx := context.Background()
	holder, err := fast.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	for _, q := range []string{"BEGIN", "UPDATE t SET k = k + 1 WHERE id = 1"} {
		if _, err := holder.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	_, waiting0 := fs.e.RowLocks()
	done := make(chan error, 1)
	go func() {
		_, err := fast.Exec("UPDATE t SET k = k + 1 WHERE id = 1")
		done <- err
	}()
	for {
		if _, waiting := fs.e.RowLocks(); waiting > waiting0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the second update did not wait: %v", err)
		default:
		}
		time.Sleep(time.Millisecond) // polling a condition
	}
	if _, err := holder.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var k int
	if err := fast.QueryRow("SELECT k FROM t WHERE id = 1").Scan(&k); err != nil || k != 20 {
		t.Fatalf("k = %d, %v; want 20 (10 + 5 + 3 + 1 + 1)", k, err)
	}
}
