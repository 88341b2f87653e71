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
)

// TestPsql runs a psql script with \dt and \d against a live server.
func TestPsql(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql not installed (apt-get install postgresql-client; make test-deps does it)")
	}
	s := startServer(t)
	host, port, _ := net.SplitHostPort(s.PGAddr().String())
	script := `CREATE TABLE accounts (id BIGSERIAL PRIMARY KEY, owner VARCHAR(40) NOT NULL UNIQUE, balance NUMERIC(12,2) DEFAULT 0, opened TIMESTAMPTZ);
INSERT INTO accounts (owner, balance) VALUES ('alice', 10.5), ('bob', 3);
SELECT owner, balance FROM accounts ORDER BY id;
\dt
\d accounts
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, psql, "-h", host, "-p", port, "-U", "admin", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-X")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+adminPassword, "PGSSLMODE=disable")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	for _, want := range []string{
		"INSERT 0 2",
		" alice |   10.50",
		"public | accounts | table | admin",
		`Table "public.accounts"`,
		"owner   | character varying(40)    |           | not null |",
		"balance | numeric(12,2)",
		"opened  | timestamp with time zone",
		`"accounts_pkey" PRIMARY KEY, btree (id)`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("psql output lacks %q:\n%s", want, out)
		}
	}
}

// TestPsycopgSQLAlchemy runs testdata/psycopg_test.py: psycopg2 and
// SQLAlchemy Core and ORM.
func TestPsycopgSQLAlchemy(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import psycopg2, sqlalchemy").Run(); err != nil {
		t.Skip("python3-psycopg2 / python3-sqlalchemy not installed (make test-deps installs them)")
	}
	s := startServer(t)
	host, port, _ := net.SplitHostPort(s.PGAddr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/psycopg_test.py", host, port, "admin", adminPassword).CombinedOutput()
	if err != nil {
		t.Fatalf("psycopg_test.py: %v\n%s", err, out)
	}
	for _, want := range []string{"OK psycopg2", "OK sqlalchemy core", "OK sqlalchemy orm"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// nodeDir holds the node-postgres test script and its package.json; the
// test installs node_modules there (gitignored) when it is missing.
const nodeDir = "testdata/node"

// TestNodePostgres runs testdata/node/pg_test.js with the npm "pg"
// package: parameterized queries, prepared statements, transactions and
// SQLSTATEs.
func TestNodePostgres(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not installed: run make test-deps (it installs nodejs and npm with apt)")
	}
	ensureNodePG(t)
	s := startServer(t)
	host, port, _ := net.SplitHostPort(s.PGAddr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "pg_test.js", host, port, "admin", adminPassword)
	cmd.Dir = nodeDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pg_test.js: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "OK node-postgres") {
		t.Fatalf("pg_test.js did not finish:\n%s", out)
	}
}

// ensureNodePG installs the pg package from package-lock.json with npm
// unless it is already there.
func ensureNodePG(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "pg", "package.json")); err == nil {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm not installed: run make test-deps (it installs nodejs and npm with apt)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = nodeDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s (installs the pg package from the npm registry): %v\n%s", nodeDir, err, out)
	}
}

// TestDjango runs testdata/django_test.py: a tiny Django project,
// makemigrations and migrate (contenttypes, auth and the app), then ORM
// queries, updates, deletes and atomic blocks.
func TestDjango(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import django, psycopg2").Run(); err != nil {
		t.Skip("python3-django / python3-psycopg2 not installed (make test-deps installs them)")
	}
	s := startServer(t)
	host, port, _ := net.SplitHostPort(s.PGAddr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "testdata/django_test.py", host, port, "admin", adminPassword).CombinedOutput()
	if err != nil {
		t.Fatalf("django_test.py: %v\n%s", err, out)
	}
	for _, want := range []string{"OK django migrate", "OK django query", "OK django orm"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
