package tests

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cofferdb/coffer/tests/harness"
)

// systemPython is the distribution's interpreter, where apt installs
// python3-pymysql; a pyenv or venv python3 on PATH would not see it.
const systemPython = "/usr/bin/python3"

// TestPyMySQL runs testdata/pymysql_test.py, a PyMySQL application doing
// DDL, executemany, a rolled-back and a committed transaction and two
// error cases, against a node.
func TestPyMySQL(t *testing.T) {
	t.Parallel()
	requirePyMySQL(t)
	n := harness.Start(t, harness.Options{Mode: harness.Process})
	host, port, err := net.SplitHostPort(n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, systemPython, "testdata/pymysql_test.py",
		host, port, harness.AdminUser, n.Password(), harness.DefaultDatabase)
	out, err := cmd.CombinedOutput()
	t.Logf("pymysql_test.py:\n%s", out)
	if err != nil {
		t.Fatalf("pymysql_test.py: %v", err)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(out)), "PASS") {
		t.Fatal("pymysql_test.py did not finish")
	}
}

// requirePyMySQL skips the test if PyMySQL is not installed, unless in CI.
func requirePyMySQL(t *testing.T) {
	t.Helper()
	err := exec.Command(systemPython, "-c", "import pymysql").Run()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s with pymysql is required in CI: %v", systemPython, err)
	}
	t.Skipf("%s cannot import pymysql: %v", systemPython, err)
}
