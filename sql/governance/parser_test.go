package governance

import (
	"context"
	"reflect"
	"strings"
	"testing"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/cofferdb/coffer/charter"
)

// TestStockSQLUnchanged: everything that is not governance parses to
// exactly what the stock parser returns.
func TestStockSQLUnchanged(t *testing.T) {
	t.Parallel()
	p := New(Config{}).Parser()
	stock := gmssql.NewMysqlParser()
	for _, q := range []string{
		"SELECT 1",
		"/* comment */ SELECT a FROM t WHERE b = 'CREATE MEMBER x'",
		"SET autocommit = 1",
		"SET @constitution = 'x'",
		"SHOW TABLES",
		"SHOW GRANTS FOR bob",
		"CREATE TABLE t (id INT PRIMARY KEY)",
		"DROP TABLE t",
		"INSERT INTO t VALUES (1)",
		"CREATE DATABASE d",
		"select 1; select 2",
		"CREATE TABLE c (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES t(id) ON DELETE CASCADE)",
	} {
		t.Run(q, func(t *testing.T) {
			want, wp, wr, werr := stock.ParseWithOptions(context.Background(), q, ';', true, ast.ParserOptions{})
			got, gp, gr, gerr := p.ParseWithOptions(context.Background(), q, ';', true, ast.ParserOptions{})
			if (werr == nil) != (gerr == nil) || gp != wp || gr != wr || !reflect.DeepEqual(want, got) {
				t.Fatalf("wrapper differs from stock:\n got %#v %q %q %v\nwant %#v %q %q %v", got, gp, gr, gerr, want, wp, wr, werr)
			}
		})
	}
}

func TestGovernanceParses(t *testing.T) {
	t.Parallel()
	p := New(Config{}).Parser()
	for _, tc := range []struct{ q, err string }{
		{"CREATE MEMBER bank_a IDENTIFIED BY 'pw'", ""},
		{"create member `bank b`", ""},
		{"VOTE APPROVE 7", ""},
		{"vote reject proposal 7;", ""},
		{"WITHDRAW PROPOSAL 3", ""},
		{"SET CONSTITUTION = 'true ? \"accepted\" : \"open\"'", ""},
		{"SHOW PROPOSALS WHERE state = 'open'", ""},
		{"SHOW PROPOSAL 1", ""},
		{"ALLOW CODE 'ab'", ""},
		{"ADD NODE 'n4' ADDRESS '10.0.0.4:7000'", ""},
		{"CREATE POLICY p ON db.t FOR SELECT TO r1, r2 USING 'true' WITH CHECK 'false'", ""},
		{"DROP POLICY p ON t", ""},
		{"CREATE USER carol IDENTIFIED BY 'pw'", ""},
		{"GRANT SELECT ON db.* TO carol", ""},
		{"ALTER USER carol IDENTIFIED BY 'pw'", ""},
		{`ALTER USER carol ATTRIBUTE '{"bank":"B"}'`, ""},
		{`alter user 'carol'@'10.0.0.1' identified with caching_sha2_password by 'pw' attribute '{"bank":null}';`, ""},
		{`ALTER USER carol ATTRIBUTE '["B"]'`, "want a JSON object"},
		{`ALTER USER carol ATTRIBUTE ''`, "want a JSON object"},
		{`ALTER USER carol ATTRIBUTE bank`, "quoted string"},
		{`ALTER USER IF EXISTS carol ATTRIBUTE '{}'`, "IF EXISTS"},
		{"VOTE 7", "expected APPROVE or REJECT"},
		{"VOTE APPROVE seven", "expected a proposal id"},
		{"SHOW PROPOSAL", "expected a proposal id"},
		{"CREATE MEMBER x IDENTIFIED BY pw", "quoted string"},
		{"SET CONSTITUTION 'x' extra", "unexpected text"},
		{"CREATE POLICY p ON t", "needs USING"},
		{"CREATE TABLE c (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES t(id) ON DELETE SET DEFAULT)", "SET DEFAULT"},
	} {
		t.Run(tc.q, func(t *testing.T) {
			stmt, _, _, err := p.ParseWithOptions(context.Background(), tc.q, ';', false, ast.ParserOptions{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := stmt.(ast.InjectedStatement); !ok {
				t.Fatalf("got %T, want an injected statement", stmt)
			}
		})
	}
}

func TestPreparedGovernanceRefused(t *testing.T) {
	t.Parallel()
	p := New(Config{}).Parser()
	for _, q := range []string{"VOTE APPROVE 1", "CREATE USER x IDENTIFIED BY 'y'", "GRANT SELECT ON d.* TO x"} {
		if _, _, err := p.ParseOneWithOptions(context.Background(), q, ast.ParserOptions{}); err == nil || !strings.Contains(err.Error(), "prepared statement") {
			t.Errorf("%s: got %v, want the prepared-statement error", q, err)
		}
	}
	if _, _, err := p.ParseOneWithOptions(context.Background(), "SELECT ?", ast.ParserOptions{}); err != nil {
		t.Errorf("SELECT ?: %v", err)
	}
}

// TestAlterUserAttribute: ALTER USER … ATTRIBUTE, which the stock parser
// refuses, is Coffer's alter_user proposal carrying the patch (and a
// password, hashed, when one is given); every other ALTER USER is left
// to the stock parser, even with "attribute" inside a string.
func TestAlterUserAttribute(t *testing.T) {
	t.Parallel()
	st, _, _, err := parseStatement(`ALTER USER carol@'10.0.0.1' IDENTIFIED BY 'pw' ATTRIBUTE '{"bank":"B"}'`, ';')
	if err != nil {
		t.Fatal(err)
	}
	a := st.Action
	if st.Op != opPropose || a.Kind != charter.KindAlterUser || len(a.Accounts) != 1 || a.Summary != "ALTER USER carol@10.0.0.1" {
		t.Fatalf("got %+v", st)
	}
	acc := a.Accounts[0]
	if acc.Name != "carol" || acc.Host != "10.0.0.1" || acc.Attributes != `{"bank":"B"}` || acc.Plugin != "mysql_native_password" || acc.AuthString == "" || strings.Contains(acc.AuthString, "pw") {
		t.Fatalf("account %+v", acc)
	}
	st, _, _, err = parseStatement(`ALTER USER carol ATTRIBUTE '{"bank":"B"}'`, ';')
	if err != nil {
		t.Fatal(err)
	}
	if acc := st.Action.Accounts[0]; acc.Host != "%" || acc.Plugin != "" || acc.AuthString != "" {
		t.Fatalf("without IDENTIFIED BY the password must stay: %+v", acc)
	}
	for q, want := range map[string]bool{
		`ALTER USER carol ATTRIBUTE '{}'`:            true,
		"alter  user carol\nattribute '{}'":          true,
		`ALTER USER carol IDENTIFIED BY 'pw'`:        false,
		`ALTER USER carol IDENTIFIED BY 'attribute'`: false,
		"ALTER USER `attribute` IDENTIFIED BY 'x'":   false,
		`ALTER TABLE t ADD COLUMN attribute INT`:     false,
	} {
		if got := isGovernance(q); got != want {
			t.Errorf("isGovernance(%q) = %v, want %v", q, got, want)
		}
	}
}
