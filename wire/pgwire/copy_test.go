package pgwire_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestCopyPgx: pgx's CopyFrom (binary COPY FROM STDIN) and CopyTo; an
// error in the middle of the stream writes nothing.
func TestCopyPgx(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	c := connect(t, s, pgx.QueryExecModeCacheStatement)
	mustExec(t, c, `CREATE TABLE items (id INT PRIMARY KEY, name TEXT, price NUMERIC(10,2), ok BOOLEAN, at TIMESTAMPTZ, n BIGINT DEFAULT 7)`)
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var rows [][]any
	for i := 1; i <= 1200; i++ {
		rows = append(rows, []any{i, "item\t" + strings.Repeat("x", i%5), "12.50", i%2 == 0, at})
	}
	rows[3][1] = nil
	n, err := c.CopyFrom(ctx, pgx.Identifier{"items"}, []string{"id", "name", "price", "ok", "at"}, pgx.CopyFromRows(rows))
	if err != nil || n != 1200 {
		t.Fatalf("CopyFrom: %d rows, %v", n, err)
	}
	var (
		count      int64
		sum        float64
		nulls, sev int64
	)
	if err := c.QueryRow(ctx, `SELECT count(*), sum(price), sum(CASE WHEN name IS NULL THEN 1 ELSE 0 END), sum(n) FROM items`).Scan(&count, &sum, &nulls, &sev); err != nil {
		t.Fatal(err)
	}
	if count != 1200 || sum != 15000 || nulls != 1 || sev != 7*1200 {
		t.Fatalf("after CopyFrom: count %d, sum %v, nulls %d, defaults %d", count, sum, nulls, sev)
	}
	var got time.Time
	var ok bool
	if err := c.QueryRow(ctx, `SELECT at, ok FROM items WHERE id = 2`).Scan(&got, &ok); err != nil || !got.Equal(at) || !ok {
		t.Fatalf("row 2: %v %v %v", got, ok, err)
	}

	// A duplicate key in the second batch: nothing of the COPY is written.
	dup := [][]any{{5000, "new", "1", true, at}}
	for i := 5001; i < 5800; i++ {
		dup = append(dup, []any{i, "new", "1", true, at})
	}
	dup = append(dup, []any{7, "dup", "1", true, at})
	if _, err := c.CopyFrom(ctx, pgx.Identifier{"items"}, []string{"id", "name", "price", "ok", "at"}, pgx.CopyFromRows(dup)); sqlState(err) != "23505" {
		t.Fatalf("duplicate in COPY: %v (SQLSTATE %q), want 23505", err, sqlState(err))
	}
	if err := c.QueryRow(ctx, `SELECT count(*) FROM items`).Scan(&count); err != nil || count != 1200 {
		t.Fatalf("after failed COPY: count %d, %v", count, err)
	}

	// Inside a transaction: the COPY's rows go with it.
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"items"}, []string{"id", "name"}, pgx.CopyFromRows([][]any{{9001, "a"}, {9002, "b"}})); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(ctx, `SELECT count(*) FROM items`).Scan(&count); err != nil || count != 1200 {
		t.Fatalf("after rolled-back COPY: count %d, %v", count, err)
	}

	// COPY TO STDOUT, text and CSV, from a table and from a query.
	for _, tc := range []struct{ sql, want string }{
		{`COPY (SELECT id, name, ok FROM items WHERE id IN (4, 5) ORDER BY id) TO STDOUT`, "4\t\\N\tt\n5\titem\\t\tf\n"},
		{`COPY (SELECT id, name FROM items WHERE id = 3) TO STDOUT WITH (FORMAT csv, HEADER)`, "id,name\n3,item\txxx\n"},
		{`COPY items (id) TO STDOUT`, ""},
	} {
		var out strings.Builder
		tag, err := c.PgConn().CopyTo(ctx, &out, tc.sql)
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		if tc.want != "" && out.String() != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.sql, out.String(), tc.want)
		}
		if tc.want == "" && (tag.String() != "COPY 1200" || strings.Count(out.String(), "\n") != 1200) {
			t.Errorf("%s: tag %q, %d lines", tc.sql, tag, strings.Count(out.String(), "\n"))
		}
	}

	// Malformed input and unsupported forms.
	for _, tc := range []struct{ sql, data, state string }{
		{`COPY items (id, name) FROM STDIN`, "1\tx\textra\n", "22P04"},
		{`COPY items (id, name) FROM STDIN`, "10000\n", "22P04"},
		{`COPY items (id, ok) FROM STDIN`, "10000\tmaybe\n", "22P02"},
		{`COPY items (id, nosuch) FROM STDIN`, "", "42703"},
		{`COPY nosuch FROM STDIN`, "", "42P01"},
		{`COPY items FROM '/etc/passwd'`, "", "0A000"},
	} {
		_, err := c.PgConn().CopyFrom(ctx, strings.NewReader(tc.data), tc.sql)
		if sqlState(err) != tc.state {
			t.Errorf("%s with %q: %v, want %s", tc.sql, tc.data, err, tc.state)
		}
	}
	var pe *pgconn.PgError
	_, err = c.PgConn().CopyFrom(ctx, strings.NewReader("1\t2\n"), `COPY items (id, ok) FROM STDIN`)
	if !errorsAs(err, &pe) || pe.Where != "COPY items, line 1, column ok" {
		t.Errorf("error context: %+v", err)
	}
	if err := c.QueryRow(ctx, `SELECT count(*) FROM items`).Scan(&count); err != nil || count != 1200 {
		t.Fatalf("after failed COPYs: count %d, %v", count, err)
	}
}

// TestCopyPsql: psql's \copy from a file (text and CSV) and to stdout.
func TestCopyPsql(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatal("psql not installed: run make test-deps (apt-get install postgresql-client)")
	}
	s := startServer(t)
	host, port, _ := net.SplitHostPort(s.PGAddr().String())
	dir := t.TempDir()
	text := filepath.Join(dir, "people.tsv")
	csv := filepath.Join(dir, "people.csv")
	if err := os.WriteFile(text, []byte("1\talice\t10.5\n2\tbob\\\\smith\t\\N\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(csv, []byte("id,name,balance\n3,\"carol, jr\",7\n4,\"dan \"\"the man\"\"\",\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `CREATE TABLE people (id INT PRIMARY KEY, name TEXT NOT NULL, balance NUMERIC(10,2));
\copy people FROM '` + text + `'
\copy people (id, name, balance) FROM '` + csv + `' WITH (FORMAT csv, HEADER true)
\copy people TO STDOUT WITH (FORMAT csv)
\copy (SELECT count(*) FROM people WHERE balance IS NULL) TO STDOUT
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, psql, "-h", host, "-p", port, "-U", "admin", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-X", "-q")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+adminPassword, "PGSSLMODE=disable")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	want := "1,alice,10.50\n2,bob\\smith,\n3,\"carol, jr\",7.00\n4,\"dan \"\"the man\"\"\",\n2\n"
	if string(out) != want {
		t.Fatalf("psql \\copy output:\n%s\nwant:\n%s", out, want)
	}
}

// TestCopyPrivileges: COPY writes and reads through the engine, so grants
// apply: a user without INSERT gets 42501 and writes nothing.
func TestCopyPrivileges(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	admin := connect(t, s, pgx.QueryExecModeCacheStatement)
	mustExec(t, admin, `CREATE TABLE ledger_rows (id INT PRIMARY KEY, memo TEXT)`)
	mustExec(t, admin, `CREATE TABLE hidden (id INT PRIMARY KEY)`)
	mustExec(t, admin, `CREATE USER carol WITH PASSWORD 'carol-pw'`)
	mustExec(t, admin, `GRANT SELECT ON ledger_rows TO carol`)
	carol, err := pgx.Connect(ctx, connString(s, "carol", "carol-pw", "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer carol.Close(ctx)
	if _, err := carol.CopyFrom(ctx, pgx.Identifier{"ledger_rows"}, []string{"id", "memo"}, pgx.CopyFromRows([][]any{{1, "x"}})); sqlState(err) != "42501" {
		t.Fatalf("COPY FROM without INSERT: %v (SQLSTATE %q), want 42501", err, sqlState(err))
	}
	var out strings.Builder
	if _, err := carol.PgConn().CopyTo(ctx, &out, `COPY hidden TO STDOUT`); sqlState(err) != "42501" {
		t.Fatalf("COPY TO without SELECT: %v (SQLSTATE %q), want 42501", err, sqlState(err))
	}
	var n int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM ledger_rows`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows after refused COPY: %d, %v", n, err)
	}
}
