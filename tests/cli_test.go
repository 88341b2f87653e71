package tests

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cofferdb/coffer/tests/harness"
)

// TestMySQLCLI drives the mysql command-line client (MariaDB's, as on most
// Linux machines) against a node: DDL, writes, reads in batch and table
// output, and the errors a user sees.
func TestMySQLCLI(t *testing.T) {
	t.Parallel()
	mysqlBin := requireTool(t, "mysql")
	n := harness.Start(t, harness.Options{Mode: harness.Process})
	host, port, err := net.SplitHostPort(n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	// The steps share one database, so they run in order.
	steps := []struct {
		name     string
		password string // default: the admin password
		args     []string
		stdin    string
		wantOut  string // exact stdout, if wantErr is empty
		wantErr  string // substring of stderr; the client must exit non-zero
	}{{
		name:    "create and insert",
		args:    []string{"-e", "CREATE TABLE cli_people (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, UNIQUE KEY (name)); INSERT INTO cli_people VALUES (1, 'alice'), (2, 'bob')"},
		wantOut: "",
	}, {
		name:    "select batch",
		args:    []string{"-e", "SELECT id, name FROM cli_people ORDER BY id"},
		wantOut: "id\tname\n1\talice\n2\tbob\n",
	}, {
		name:    "script on stdin",
		stdin:   "UPDATE cli_people SET name = 'carol' WHERE id = 2;\nSELECT COUNT(*), GROUP_CONCAT(name ORDER BY id) FROM cli_people;\n",
		args:    []string{"--skip-column-names"},
		wantOut: "2\talice,carol\n",
	}, {
		name: "select table format",
		args: []string{"--table", "-e", "SELECT name FROM cli_people WHERE id = 1"},
		wantOut: "+-------+\n" +
			"| name  |\n" +
			"+-------+\n" +
			"| alice |\n" +
			"+-------+\n",
	}, {
		name:    "duplicate key",
		args:    []string{"-e", "INSERT INTO cli_people VALUES (3, 'alice')"},
		wantErr: "ERROR 1062 (23000)",
	}, {
		name:    "unknown table",
		args:    []string{"-e", "SELECT * FROM cli_nope"},
		wantErr: "ERROR 1146 (42S02)",
	}, {
		name:     "wrong password",
		password: "not-the-password",
		args:     []string{"-e", "SELECT 1"},
		wantErr:  "ERROR 1045 (28000)",
	}}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			pw := st.password
			if pw == "" {
				pw = n.Password()
			}
			// --no-defaults first: a developer's ~/.my.cnf must not matter.
			args := append([]string{"--no-defaults", "--protocol=TCP", "-h", host, "-P", port,
				"-u", harness.AdminUser, "--password=" + pw, "--connect-timeout=10", "--batch"}, st.args...)
			args = append(args, harness.DefaultDatabase)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, mysqlBin, args...)
			cmd.Stdin = strings.NewReader(st.stdin)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if st.wantErr != "" {
				if err == nil || !strings.Contains(stderr.String(), st.wantErr) {
					t.Fatalf("want failure with %q; got err=%v stdout=%q stderr=%q", st.wantErr, err, stdout.String(), stderr.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("mysql: %v\nstderr: %s", err, stderr.String())
			}
			if got := stdout.String(); got != st.wantOut {
				t.Fatalf("stdout:\n%q\nwant:\n%q", got, st.wantOut)
			}
		})
	}
}
