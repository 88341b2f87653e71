package governance

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	vmysql "github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/cofferdb/coffer/charter"
)

// Parser wraps go-mysql-server's MySQL parser: Coffer's governance
// statements and the MySQL account statements become injected nodes that
// run as charter proposals; everything else is the stock parser's result,
// unchanged.
type Parser struct {
	stock *gmssql.MysqlParser
	gov   *Governor
}

var _ gmssql.Parser = (*Parser)(nil)

// ErrPrepared is returned for a governance statement sent as a server-side
// prepared statement.
func errPrepared(query string) error {
	return vmysql.NewSQLError(erUnsupportedPS, vmysql.SSUnknownSQLState,
		"governance statement %q cannot be a server-side prepared statement; send it as a text query (go-sql-driver/mysql: interpolateParams=true)", firstWords(query))
}

func firstWords(q string) string {
	f := strings.Fields(q)
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}

// ParseSimple implements sql.Parser (column defaults, check expressions:
// never governance).
func (p *Parser) ParseSimple(query string) (ast.Statement, error) { return p.stock.ParseSimple(query) }

// Parse implements sql.Parser.
func (p *Parser) Parse(ctx *gmssql.Context, query string, multi bool) (ast.Statement, string, string, error) {
	return p.ParseWithOptions(ctx, query, ';', multi, gmssql.LoadSqlMode(ctx).ParserOptions())
}

// ParseWithOptions implements sql.Parser.
func (p *Parser) ParseWithOptions(ctx context.Context, query string, delim rune, multi bool, opts ast.ParserOptions) (ast.Statement, string, string, error) {
	if isGovernance(query) {
		st, parsed, rest, err := parseStatement(gmssql.RemoveSpaceAndDelimiter(query, delim), delim)
		if err != nil {
			return nil, "", "", vmysql.NewSQLError(vmysql.ERParseError, vmysql.SSClientError, "%s", err.Error())
		}
		if !multi && strings.TrimSpace(rest) != "" {
			return nil, "", "", vmysql.NewSQLError(vmysql.ERParseError, vmysql.SSClientError, "syntax error: more than one statement")
		}
		return p.inject(st, parsed), parsed, rest, nil
	}
	stmt, parsed, rest, err := p.stock.ParseWithOptions(ctx, query, delim, multi, opts)
	if err != nil {
		return stmt, parsed, rest, err
	}
	if err := checkForeignKeySetDefault(stmt); err != nil {
		return nil, "", "", err
	}
	st, err := accountStatement(stmt, parsed)
	if err != nil {
		return nil, "", "", err
	}
	if st != nil {
		return p.inject(st, parsed), parsed, rest, nil
	}
	return stmt, parsed, rest, nil
}

// ParseOneWithOptions implements sql.Parser. go-mysql-server uses it for
// server-side prepared statements, which governance statements cannot be:
// COM_STMT_PREPARE parses with stock vitess first (see GMS-SEAMS).
func (p *Parser) ParseOneWithOptions(ctx context.Context, query string, opts ast.ParserOptions) (ast.Statement, int, error) {
	if isGovernance(query) {
		return nil, 0, errPrepared(query)
	}
	stmt, n, err := p.stock.ParseOneWithOptions(ctx, query, opts)
	if err != nil {
		return stmt, n, err
	}
	if err := checkForeignKeySetDefault(stmt); err != nil {
		return nil, 0, err
	}
	if st, err := accountStatement(stmt, query); err != nil || st != nil {
		return nil, 0, errPrepared(query)
	}
	return stmt, n, nil
}

func (p *Parser) inject(st *Statement, text string) ast.Statement {
	return ast.InjectedStatement{
		Statement: &Node{st: st, text: text, gov: p.gov},
		Auth:      ast.AuthInformation{AuthType: ast.AuthType_IGNORE, TargetType: ast.AuthTargetType_Ignore},
	}
}

// accountStatement turns MySQL's account statements into charter
// proposals; it returns nil for any other statement.
func accountStatement(stmt ast.Statement, text string) (*Statement, error) {
	switch n := stmt.(type) {
	case *ast.CreateUser:
		a := charter.Action{Kind: charter.KindCreateUser}
		for _, u := range n.Users {
			acc, err := account(u.AccountName, u.Auth1)
			if err != nil {
				return nil, err
			}
			if err := checkAttributes(n.Attribute); err != nil {
				return nil, err
			}
			acc.Attributes = n.Attribute
			a.Accounts = append(a.Accounts, acc)
		}
		a.Summary = "CREATE USER " + names(a.Accounts)
		a.IfNotExists = n.IfNotExists
		return propose(a), nil
	case *ast.DDL:
		if n.Action != ast.AlterStr || n.User.IsEmpty() {
			return nil, nil
		}
		acc, err := account(n.User, n.Authentication)
		if err != nil {
			return nil, err
		}
		a := charter.Action{Kind: charter.KindAlterUser, Accounts: []charter.Account{acc}, Summary: "ALTER USER " + acc.Name}
		return propose(a), nil
	case *ast.DropUser:
		return replayed(charter.KindDropUser, "DROP USER", n.AccountNames, text), nil
	case *ast.CreateRole:
		return replayed(charter.KindCreateRole, "CREATE ROLE", n.Roles, text), nil
	case *ast.DropRole:
		return replayed(charter.KindDropRole, "DROP ROLE", n.Roles, text), nil
	case *ast.GrantPrivilege:
		return replayed(charter.KindGrant, "", n.To, text), nil
	case *ast.GrantRole:
		return replayed(charter.KindGrant, "", n.To, text), nil
	case *ast.RevokePrivilege:
		return replayed(charter.KindRevoke, "", n.From, text), nil
	case *ast.RevokeRole:
		return replayed(charter.KindRevoke, "", n.From, text), nil
	case *ast.RevokeAllPrivileges:
		return replayed(charter.KindRevoke, "", n.From, text), nil
	case *ast.Flush:
		if n.Option != nil && strings.EqualFold(n.Option.Name, "privileges") {
			return &Statement{Op: opNoop}, nil
		}
	}
	return nil, nil
}

// replayed is an account statement without secrets: its text is stored and
// replayed by the engine when the proposal is accepted.
func replayed(kind, verb string, accts []ast.AccountName, text string) *Statement {
	a := charter.Action{Kind: kind, Statement: text}
	for _, n := range accts {
		a.Accounts = append(a.Accounts, charter.Account{Name: n.Name, Host: host(n)})
	}
	a.Summary = strings.Join(strings.Fields(text), " ")
	if verb != "" {
		a.Summary = verb + " " + names(a.Accounts)
	}
	return propose(a)
}

func host(n ast.AccountName) string {
	if n.AnyHost || n.Host == "" {
		return "%"
	}
	return n.Host
}

func names(accs []charter.Account) string {
	s := make([]string, len(accs))
	for i, a := range accs {
		s[i] = a.Name
		if a.Host != "%" {
			s[i] += "@" + a.Host
		}
	}
	return strings.Join(s, ", ")
}

// checkAttributes requires ATTRIBUTE to be a JSON object: policies read
// it as principal.attributes.
func checkAttributes(s string) error {
	if s == "" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return fmt.Errorf("ATTRIBUTE '%s': want a JSON object such as '{\"bank\":\"A\"}': %v", s, err)
	}
	return nil
}

// account hashes the password at once: only the stored form travels.
func account(n ast.AccountName, auth *ast.Authentication) (charter.Account, error) {
	acc := charter.Account{Name: n.Name, Host: host(n)}
	if auth == nil {
		return acc, nil
	}
	if auth.RandomPassword {
		return acc, fmt.Errorf("CREATE USER … IDENTIFIED BY RANDOM PASSWORD is not supported; give a password")
	}
	var a plan.Authentication
	switch strings.ToLower(auth.Plugin) {
	case "", "mysql_native_password":
		if auth.Password == "" && auth.Identity != "" {
			acc.Plugin, acc.AuthString = "mysql_native_password", auth.Identity
			return acc, nil
		}
		a = plan.NewDefaultAuthentication(auth.Password)
	case "caching_sha2_password":
		a = plan.NewCachingSha2PasswordAuthentication(auth.Password)
	default:
		return acc, fmt.Errorf("authentication plugin %q is not supported; use mysql_native_password or caching_sha2_password", auth.Plugin)
	}
	s, err := a.AuthString()
	if err != nil {
		return acc, err
	}
	acc.Plugin, acc.AuthString = a.Plugin(), s
	return acc, nil
}

// checkForeignKeySetDefault keeps a check go-mysql-server's planbuilder
// makes only when its parser is exactly *sql.MysqlParser: MySQL parses ON
// DELETE/UPDATE SET DEFAULT but does not support it.
func checkForeignKeySetDefault(stmt ast.Statement) error {
	switch stmt.(type) {
	case *ast.DDL, *ast.AlterTable:
	default:
		return nil
	}
	found := false
	var walk func(v reflect.Value, depth int)
	walk = func(v reflect.Value, depth int) {
		if found || depth > 12 || !v.IsValid() {
			return
		}
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if v.IsNil() {
				return
			}
			if fk, ok := v.Interface().(*ast.ForeignKeyDefinition); ok {
				found = fk.OnDelete == ast.SetDefault || fk.OnUpdate == ast.SetDefault
				return
			}
			walk(v.Elem(), depth+1)
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i), depth+1)
				}
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), depth+1)
			}
		}
	}
	walk(reflect.ValueOf(stmt), 0)
	if found {
		return gmssql.ErrForeignKeySetDefault.New()
	}
	return nil
}

// IsStatement reports whether query is one of Coffer's own statements
// (VOTE, ADD NODE, SHOW PROPOSALS …), which vitess alone cannot parse.
// The MySQL wire uses it to answer COM_STMT_PREPARE of one with
// PreparedError before vitess's parser rejects it as a syntax error.
func IsStatement(query string) bool { return isGovernance(query) }

// PreparedError is the error for a governance statement sent as a
// server-side prepared statement: MySQL error 1295 (ER_UNSUPPORTED_PS),
// SQLSTATE HY000.
func PreparedError(query string) (code uint16, sqlState, message string) {
	err := errPrepared(query).(*vmysql.SQLError)
	return uint16(err.Number()), err.SQLState(), err.Message
}
