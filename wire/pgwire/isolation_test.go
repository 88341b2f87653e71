package pgwire_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func showSetting(t *testing.T, c *pgx.Conn, name string) string {
	t.Helper()
	var v string
	if err := c.QueryRow(context.Background(), "SHOW "+name).Scan(&v); err != nil {
		t.Fatalf("SHOW %s: %v", name, err)
	}
	return v
}

// TestIsolationSettings: the levels a PostgreSQL client sets are kept and
// shown: the session's default, a block's own level, and the errors
// PostgreSQL gives.
func TestIsolationSettings(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	c := connect(t, s, pgx.QueryExecModeSimpleProtocol)
	if v := showSetting(t, c, "default_transaction_isolation"); v != "repeatable read" {
		t.Fatalf("default_transaction_isolation = %q", v)
	}
	mustExec(t, c, `SET default_transaction_isolation = 'READ COMMITTED'`)
	for _, name := range []string{"default_transaction_isolation", "transaction_isolation"} {
		if v := showSetting(t, c, name); v != "read committed" {
			t.Fatalf("after SET default: %s = %q", name, v)
		}
	}
	mustExec(t, c, `BEGIN ISOLATION LEVEL SERIALIZABLE`)
	if v := showSetting(t, c, "transaction_isolation"); v != "serializable" {
		t.Fatalf("in BEGIN ISOLATION LEVEL SERIALIZABLE: %q", v)
	}
	mustExec(t, c, `COMMIT`)
	if v := showSetting(t, c, "transaction_isolation"); v != "read committed" {
		t.Fatalf("after the block: %q, want the default again", v)
	}
	mustExec(t, c, `SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ`)
	if v := showSetting(t, c, "default_transaction_isolation"); v != "repeatable read" {
		t.Fatalf("after SET SESSION CHARACTERISTICS: %q", v)
	}
	// Outside a block SET TRANSACTION warns and changes nothing.
	mustExec(t, c, `SET TRANSACTION ISOLATION LEVEL READ COMMITTED`)
	if v := showSetting(t, c, "transaction_isolation"); v != "repeatable read" {
		t.Fatalf("SET TRANSACTION outside a block: %q", v)
	}
	mustExec(t, c, `BEGIN`)
	mustExec(t, c, `SET TRANSACTION ISOLATION LEVEL READ COMMITTED`)
	if v := showSetting(t, c, "transaction_isolation"); v != "read committed" {
		t.Fatalf("SET TRANSACTION first in a block: %q", v)
	}
	mustExec(t, c, `SELECT 1`)
	if _, err := c.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE`); sqlState(err) != "25001" {
		t.Fatalf("SET TRANSACTION after a query: %v, want 25001", err)
	}
	mustExec(t, c, `ROLLBACK`)
	if _, err := c.Exec(ctx, `SET default_transaction_isolation = 'snapshot'`); sqlState(err) != "22023" {
		t.Fatalf("an unknown level: %v, want 22023", err)
	}
	if _, err := c.Exec(ctx, `BEGIN ISOLATION LEVEL READ COMMITTED`); err != nil {
		t.Fatal(err)
	}
	mustExec(t, c, `ROLLBACK`)
}

// TestIsolationStartupParameters: PGOPTIONS (the startup packet's options)
// and a default_transaction_isolation parameter set the session's default.
func TestIsolationStartupParameters(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	for _, params := range []map[string]string{
		{"options": `-c default_transaction_isolation=read\ committed`},
		{"options": `--default-transaction-isolation=read\ committed -c application_name=bench`},
		// Other settings are kept or ignored as direct parameters are;
		// names are case-insensitive.
		{"options": `-c work_mem=64MB -c Default_Transaction_Isolation=READ\ COMMITTED`},
		{"default_transaction_isolation": "read committed"},
	} {
		cfg, err := pgx.ParseConfig(connString(s, "admin", adminPassword, "postgres"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.RuntimeParams = params
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatalf("%v: %v", params, err)
		}
		if v := showSetting(t, c, "default_transaction_isolation"); v != "read committed" {
			t.Fatalf("%v: default_transaction_isolation = %q", params, v)
		}
		c.Close(ctx)
	}
	cfg, err := pgx.ParseConfig(connString(s, "admin", adminPassword, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams = map[string]string{"options": "-c default_transaction_isolation=sometimes"}
	if c, err := pgx.ConnectConfig(ctx, cfg); err == nil {
		c.Close(ctx)
		t.Fatal("an unknown level in PGOPTIONS was accepted")
	}
}

// TestReadCommittedWrite: a transaction whose row another one changed
// after its snapshot fails with 40001 at the default level, and at READ
// COMMITTED updates the newest version instead, as PostgreSQL does —
// whether the block's level comes from BEGIN, from SET TRANSACTION or from
// the session's default.
func TestReadCommittedWrite(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	a, b := connect(t, s, pgx.QueryExecModeSimpleProtocol), connect(t, s, pgx.QueryExecModeSimpleProtocol)
	mustExec(t, a, `CREATE TABLE acct (id INT PRIMARY KEY, bal INT)`)
	for _, tc := range []struct {
		name  string
		begin []string
		want  string // SQLSTATE of the update, "" for success
	}{
		{"default", []string{`BEGIN`}, "40001"},
		{"BEGIN ISOLATION LEVEL", []string{`BEGIN ISOLATION LEVEL READ COMMITTED`}, ""},
		{"SET TRANSACTION", []string{`BEGIN`, `SET TRANSACTION ISOLATION LEVEL READ COMMITTED`}, ""},
		{"session default", []string{`SET default_transaction_isolation = 'read committed'`, `BEGIN`}, ""},
	} {
		mustExec(t, a, `SET default_transaction_isolation = DEFAULT`)
		mustExec(t, a, `DELETE FROM acct`)
		mustExec(t, a, `INSERT INTO acct VALUES (1, 100)`)
		for _, q := range tc.begin {
			mustExec(t, a, q)
		}
		var bal int
		if err := a.QueryRow(ctx, `SELECT bal FROM acct WHERE id = 1`).Scan(&bal); err != nil || bal != 100 {
			t.Fatalf("%s: read %d, %v", tc.name, bal, err)
		}
		mustExec(t, b, `UPDATE acct SET bal = bal + 5 WHERE id = 1`)
		_, err := a.Exec(ctx, `UPDATE acct SET bal = bal - 10 WHERE id = 1`)
		if got := sqlState(err); got != tc.want {
			t.Fatalf("%s: update after a concurrent one: %v (SQLSTATE %q), want %q", tc.name, err, got, tc.want)
		}
		want := 95
		if err == nil {
			mustExec(t, a, `COMMIT`)
		} else {
			mustExec(t, a, `ROLLBACK`)
			want = 105
		}
		if err := b.QueryRow(ctx, `SELECT bal FROM acct WHERE id = 1`).Scan(&bal); err != nil || bal != want {
			t.Fatalf("%s: bal = %d, %v; want %d", tc.name, bal, err, want)
		}
	}
}
