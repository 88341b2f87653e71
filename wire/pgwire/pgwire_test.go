package pgwire_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cofferdb/coffer/server"
)

const adminPassword = "s3cret-pw"

// startServer runs a node with only the Postgres wire, on a free port.
func startServer(t *testing.T) *server.Server {
	t.Helper()
	return startServerWith(t, nil)
}

// startServerWith is startServer with the config adjusted by set.
func startServerWith(t *testing.T, set func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.MySQLAddr = ""
	cfg.PGAddr = "127.0.0.1:0"
	cfg.AdminPassword = adminPassword
	cfg.UnsafeNoSync = true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if set != nil {
		set(&cfg)
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Close() })
	return s
}

func connString(s *server.Server, user, password, db string) string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", user, password, s.PGAddr().String(), db)
}

func connect(t *testing.T, s *server.Server, mode pgx.QueryExecMode) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(connString(s, "admin", adminPassword, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = mode
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func mustExec(t *testing.T, c *pgx.Conn, q string, args ...any) pgconn.CommandTag {
	t.Helper()
	tag, err := c.Exec(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return tag
}

func TestPgx(t *testing.T) {
	s := startServer(t)
	modes := []struct {
		name string
		mode pgx.QueryExecMode
	}{
		{"extended", pgx.QueryExecModeCacheStatement},
		{"describe", pgx.QueryExecModeDescribeExec},
		{"simple", pgx.QueryExecModeSimpleProtocol},
	}
	for i, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			c := connect(t, s, m.mode)
			tbl := fmt.Sprintf("items%d", i)
			mustExec(t, c, `CREATE TABLE `+tbl+` (id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, price NUMERIC(10,2), ok BOOLEAN DEFAULT false, at TIMESTAMPTZ, n BIGINT)`)
			at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
			var id int64
			if err := c.QueryRow(ctx, `INSERT INTO `+tbl+` (name, price, ok, at, n) VALUES ($1, $2, $3, $4, $5) RETURNING id`, "apple", "1.25", true, at, int64(7)).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if id != 1 {
				t.Fatalf("RETURNING id = %d, want 1", id)
			}
			if tag := mustExec(t, c, `INSERT INTO `+tbl+` (name, n) VALUES ($1, $2), ($3, $4)`, "pear", int64(2), "plum", int64(3)); tag.String() != "INSERT 0 2" {
				t.Fatalf("tag %q", tag)
			}
			var (
				name string
				ok   bool
				got  time.Time
				n    int64
			)
			if err := c.QueryRow(ctx, `SELECT name, ok, at, n FROM `+tbl+` WHERE id = $1`, id).Scan(&name, &ok, &got, &n); err != nil {
				t.Fatal(err)
			}
			if name != "apple" || !ok || !got.Equal(at) || n != 7 {
				t.Fatalf("got %q %v %v %d", name, ok, got, n)
			}
			rows, err := c.Query(ctx, `SELECT name FROM `+tbl+` WHERE name ILIKE $1 ORDER BY id LIMIT $2 OFFSET 1`, "P%", 5)
			if err != nil {
				t.Fatal(err)
			}
			names, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil || len(names) != 1 || names[0] != "plum" {
				t.Fatalf("ILIKE/LIMIT/OFFSET: %v %v", names, err)
			}
			// Errors carry PostgreSQL SQLSTATEs.
			_, err = c.Exec(ctx, `INSERT INTO `+tbl+` (name) VALUES ('apple')`)
			if sqlState(err) != "23505" {
				t.Fatalf("duplicate: %v (%s)", err, sqlState(err))
			}
			if _, err = c.Exec(ctx, `SELECT * FROM nosuch`); sqlState(err) != "42P01" {
				t.Fatalf("undefined table: %v", err)
			}
			if _, err = c.Exec(ctx, `SELEC 1`); sqlState(err) != "42601" {
				t.Fatalf("syntax: %v", err)
			}
			if _, err = c.Exec(ctx, `SELECT '1 day'::interval`); sqlState(err) != "0A000" {
				t.Fatalf("unsupported: %v", err)
			}
			// ON CONFLICT.
			mustExec(t, c, `INSERT INTO `+tbl+` (id, name) VALUES (1, 'apple') ON CONFLICT DO NOTHING`)
			mustExec(t, c, `INSERT INTO `+tbl+` (id, name, n) VALUES (1, 'apple', 70) ON CONFLICT (id) DO UPDATE SET n = EXCLUDED.n`)
			if err := c.QueryRow(ctx, `SELECT n FROM `+tbl+` WHERE id = 1`).Scan(&n); err != nil || n != 70 {
				t.Fatalf("ON CONFLICT DO UPDATE: n = %d, %v", n, err)
			}
			// A transaction, rolled back.
			tx, err := c.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM `+tbl+` WHERE id = $1`, 1); err != nil {
				t.Fatal(err)
			}
			if err := tx.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			var count int64
			if err := c.QueryRow(ctx, `SELECT count(*) FROM `+tbl).Scan(&count); err != nil || count != 3 {
				t.Fatalf("after rollback count = %d, %v", count, err)
			}
		})
	}
}

// TestSerializationFailure: two transactions write the same row; the
// second to commit gets 40001.
// TestSerializationFailure: two transactions update the same row in a
// statement that takes no row lock: the second to commit gets 40001 and
// its write is lost (first committer wins).
func TestSerializationFailure(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	a, b := connect(t, s, pgx.QueryExecModeCacheStatement), connect(t, s, pgx.QueryExecModeCacheStatement)
	mustExec(t, a, `CREATE TABLE acct (id INT PRIMARY KEY, bal INT)`)
	mustExec(t, a, `INSERT INTO acct VALUES (1, 100)`)
	ta, err := a.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// "AND bal > 0": not a primary-key point write, so no row lock.
	if _, err := ta.Exec(ctx, `UPDATE acct SET bal = bal - 10 WHERE id = 1 AND bal > 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Exec(ctx, `UPDATE acct SET bal = bal - 20 WHERE id = 1 AND bal > 0`); err != nil {
		t.Fatal(err)
	}
	if err := ta.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	err = tb.Commit(ctx)
	if sqlState(err) != "40001" {
		t.Fatalf("second commit: %v (SQLSTATE %q), want 40001", err, sqlState(err))
	}
	var bal int
	if err := b.QueryRow(ctx, `SELECT bal FROM acct WHERE id = 1`).Scan(&bal); err != nil || bal != 90 {
		t.Fatalf("bal = %d, %v", bal, err)
	}
}

// TestRowLockWait: a primary-key update of a row another transaction
// updated waits for it; at the default snapshot isolation the autocommit
// statement then loses and the server runs it again on the committed row,
// so both updates count. Sent with its values written in as a simple
// query, or prepared with `bal - $1` (described as the column's type).
func TestRowLockWait(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		a, b := connect(t, s, mode), connect(t, s, mode)
		mustExec(t, a, `DROP TABLE IF EXISTS acct`)
		mustExec(t, a, `CREATE TABLE acct (id INT PRIMARY KEY, bal INT)`)
		mustExec(t, a, `INSERT INTO acct VALUES (1, 100)`)
		ta, err := a.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ta.Exec(ctx, `UPDATE acct SET bal = bal - 10 WHERE id = 1`); err != nil {
			t.Fatal(err)
		}
		_, waiting0 := s.Engine().RowLocks()
		done := make(chan error, 1)
		go func() {
			var err error
			if mode == pgx.QueryExecModeSimpleProtocol {
				// Values written in, as psql and pgbench send them (pgx
				// would quote $1 here).
				_, err = b.Exec(ctx, `UPDATE acct SET bal = bal - 20 WHERE id = 1`)
			} else {
				// $1 next to the column is described as the column's type.
				_, err = b.Exec(ctx, `UPDATE acct SET bal = bal - $1 WHERE id = $2`, 20, 1)
			}
			done <- err
		}()
		for {
			if _, waiting := s.Engine().RowLocks(); waiting > waiting0 {
				break
			}
			select {
			case err := <-done:
				t.Fatalf("%v: the second update did not wait: %v", mode, err)
			default:
			}
			time.Sleep(time.Millisecond) // polling a condition
		}
		if err := ta.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("%v: the waiting update: %v", mode, err)
		}
		var bal int
		if err := a.QueryRow(ctx, `SELECT bal FROM acct WHERE id = 1`).Scan(&bal); err != nil || bal != 70 {
			t.Fatalf("%v: bal = %d, %v; want 70", mode, bal, err)
		}
		a.Close(ctx)
		b.Close(ctx)
	}
}

func TestAuth(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	// The genesis admin has a SCRAM verifier: SCRAM-SHA-256 only.
	cfg, _ := pgx.ParseConfig(connString(s, "admin", adminPassword, "postgres"))
	cfg.RuntimeParams = map[string]string{}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	for _, tc := range []struct{ user, pw, db, state string }{
		{"admin", "wrong", "postgres", "28P01"},
		{"nobody", "x", "postgres", "28P01"},
		{"admin", adminPassword, "nosuchdb", "3D000"},
	} {
		_, err := pgx.Connect(ctx, connString(s, tc.user, tc.pw, tc.db))
		if sqlState(err) != tc.state {
			t.Errorf("%s/%s: %v, want %s", tc.user, tc.db, err, tc.state)
		}
	}
}

// TestTypes scans common types in binary (extended) and text (simple).
func TestTypes(t *testing.T) {
	s := startServer(t)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		c := connect(t, s, mode)
		var (
			num   pgtype.Numeric
			f     float64
			b     []byte
			js    map[string]any
			u     string
			d     time.Time
			small int16
		)
		err := c.QueryRow(context.Background(), `SELECT -1234.5600::numeric(10,4), 2.5::float8, '\x6869'::bytea, '{"a":1}'::jsonb, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid::text, '2024-02-29'::date, 7::smallint`).
			Scan(&num, &f, &b, &js, &u, &d, &small)
		if err != nil {
			t.Fatal(err)
		}
		nv, _ := num.Value()
		if nv != "-1234.5600" || f != 2.5 || string(b) != "hi" || js["a"] != float64(1) || d.Format("2006-01-02") != "2024-02-29" || small != 7 {
			t.Errorf("mode %v: got %v %v %q %v %q %v %d", mode, nv, f, b, js, u, d, small)
		}
	}
}

// TestUsers: a user created over the Postgres wire logs in with SCRAM and
// is refused a table it has no grant on (42501).
func TestUsers(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	admin := connect(t, s, pgx.QueryExecModeCacheStatement)
	mustExec(t, admin, `CREATE TABLE secrets (id INT PRIMARY KEY, v TEXT)`)
	mustExec(t, admin, `CREATE TABLE open_data (id INT PRIMARY KEY)`)
	mustExec(t, admin, `CREATE USER bob WITH PASSWORD 'bob-pw'`)
	mustExec(t, admin, `GRANT SELECT ON open_data TO bob`)
	cfg, _ := pgx.ParseConfig(connString(s, "bob", "bob-pw", "postgres"))
	bob, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close(ctx)
	if _, err := bob.Exec(ctx, `SELECT * FROM open_data`); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Exec(ctx, `SELECT * FROM secrets`); sqlState(err) != "42501" {
		t.Fatalf("no grant: %v (SQLSTATE %q), want 42501", err, sqlState(err))
	}
	if _, err := pgx.Connect(ctx, connString(s, "bob", "wrong", "postgres")); sqlState(err) != "28P01" {
		t.Fatalf("wrong password: %v", err)
	}
	// A user without any grant connects, as PostgreSQL's default CONNECT
	// privilege allows, and reads nothing.
	mustExec(t, admin, `CREATE USER nogrant WITH PASSWORD 'ng-pw'`)
	ng, err := pgx.Connect(ctx, connString(s, "nogrant", "ng-pw", "postgres"))
	if err != nil {
		t.Fatalf("user without grants: %v", err)
	}
	defer ng.Close(ctx)
	if _, err := ng.Exec(ctx, `SELECT * FROM open_data`); sqlState(err) != "42501" {
		t.Fatalf("user without grants reads: %v (SQLSTATE %q), want 42501", err, sqlState(err))
	}
	if _, err := pgx.Connect(ctx, connString(s, "nogrant", "ng-pw", "nosuchdb")); sqlState(err) != "3D000" {
		t.Fatalf("no such database: %v", err)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
