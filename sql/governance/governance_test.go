package governance_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	vmysql "github.com/dolthub/vitess/go/mysql"

	"github.com/cofferdb/coffer/sql/engine"
	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata files with the actual output")

// node is an engine over a store in dir, reopened by "restart".
type node struct {
	t   *testing.T
	dir string
	db  *storage.DB
	e   *engine.Engine
	// sessions keeps one session per user, so that SET and BEGIN carry
	// over between statements.
	sessions map[string]*gmssql.Context
}

func open(t *testing.T, dir string) *node {
	t.Helper()
	cfg := storage.DefaultConfig(dir)
	cfg.NoSync = true
	db, err := storage.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(engine.Config{DB: db, Proposer: txn.LocalProposer{DB: db}, AdminPassword: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	return &node{t: t, dir: dir, db: db, e: e, sessions: map[string]*gmssql.Context{}}
}

func (n *node) close() { n.db.Close() }

// run executes q as user and renders the rows or the error.
func (n *node) run(user, q string) string {
	ctx, ok := n.sessions[user]
	if !ok {
		ctx = n.e.NewContext(context.Background(), txn.Principal{Name: user, Host: "localhost"})
		n.sessions[user] = ctx
	}
	_, iter, _, err := n.e.Query(ctx, q)
	var rows []gmssql.Row
	if err == nil {
		rows, err = gmssql.RowIterToRows(ctx, iter)
	}
	if err != nil {
		var se *vmysql.SQLError
		if errors.As(err, &se) {
			return fmt.Sprintf("error %d: %s", se.Num, se.Message)
		}
		return "error: " + err.Error()
	}
	var b strings.Builder
	for _, r := range rows {
		s := make([]string, len(r))
		for i, v := range r {
			s[i] = fmt.Sprint(v)
		}
		b.WriteString(strings.TrimRight(strings.Join(s, " | "), " ") + "\n")
	}
	return b.String()
}

// TestDataDriven runs testdata/*.txt: blocks of "user> statement" (or
// "restart"), "----" and the expected output, separated by blank lines.
func TestDataDriven(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			n := open(t, dir)
			defer func() { n.close() }()
			var out strings.Builder
			for _, b := range strings.Split(strings.TrimSpace(string(raw)), "\n\n") {
				cmd, want, _ := strings.Cut(strings.TrimSpace(b)+"\n", "\n----\n")
				cmd = strings.TrimRight(cmd, "\n")
				line := cmd
				for strings.HasPrefix(line, "#") {
					_, line, _ = strings.Cut(line, "\n")
				}
				var got string
				if line == "restart" {
					n.close()
					n = open(t, dir)
				} else {
					user, q, ok := strings.Cut(line, "> ")
					if !ok {
						t.Fatalf("%s: want \"user> statement\", got %q", f, line)
					}
					got = n.run(user, q)
				}
				got = strings.TrimRight(got, "\n")
				if !*rewrite && got != strings.TrimRight(want, "\n") {
					t.Errorf("%s\ngot:\n%s\nwant:\n%s", cmd, got, want)
				}
				fmt.Fprintf(&out, "%s\n----\n%s\n\n", cmd, got)
			}
			if *rewrite {
				if err := os.WriteFile(f, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
