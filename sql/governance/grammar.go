package governance

import (
	"fmt"
	"strings"

	ast "github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/google/cel-go/cel"

	"github.com/cofferdb/coffer/charter"
)

// Operations of a governance statement.
const (
	opPropose  = "propose"
	opVote     = "vote"
	opWithdraw = "withdraw"
	opShow     = "show"
	opNoop     = "noop" // FLUSH PRIVILEGES: the user store is always current
)

// What SHOW shows.
const (
	showProposals    = "proposals"
	showProposal     = "proposal"
	showMembers      = "members"
	showConstitution = "constitution"
	showCharter      = "charter"
	showCluster      = "cluster"
)

// Statement is a parsed governance statement.
type Statement struct {
	Op     string
	Action charter.Action
	// Password is CREATE MEMBER's clear password: hashed into the action
	// before anything is stored, never stored itself.
	Password string
	ID       uint64
	Approve  bool
	Show     string
	State    string // SHOW PROPOSALS WHERE state = '…'
	// table is CREATE/DROP POLICY's table as written (db may be empty).
	tableDB, table string
}

// leads are the first two words of Coffer's own statements.
var leads = map[string][]string{
	"create":   {"member", "policy"},
	"drop":     {"member", "policy"},
	"vote":     nil,
	"withdraw": {"proposal"},
	"set":      {"constitution"},
	"show":     {"policies", "proposals", "proposal", "members", "constitution", "charter", "cluster"},
	"allow":    {"code"},
	"disallow": {"code"},
	"add":      {"node"},
	"remove":   {"node"},
	"alter":    {"user"}, // with ATTRIBUTE only: isGovernance
}

// hasAttribute reports whether the statement src has the bare word
// ATTRIBUTE (not inside a string or a quoted name).
func hasAttribute(src string) bool {
	l, err := lex(src, ';')
	if err != nil {
		return false
	}
	for _, t := range l.toks {
		if t.kind == tokWord && strings.EqualFold(t.text, "attribute") && src[t.pos] != '`' {
			return true
		}
	}
	return false
}

// isGovernance reports whether src starts like one of Coffer's own
// statements (cheap: no allocation for ordinary SQL).
func isGovernance(src string) bool {
	l := &lexer{src: src}
	w1 := l.word()
	seconds, ok := leads[strings.ToLower(w1)]
	if !ok {
		return false
	}
	if seconds == nil {
		return true
	}
	w2 := strings.ToLower(l.word())
	if strings.EqualFold(w1, "alter") {
		// ALTER USER … ATTRIBUTE, which go-mysql-server's parser lacks;
		// every other ALTER USER is MySQL's (parser.go).
		return w2 == "user" && hasAttribute(src)
	}
	for _, s := range seconds {
		if w2 == s {
			return true
		}
	}
	return false
}

// word returns the next bare word (empty if the next token is not one).
func (l *lexer) word() string {
	l.skipSpace()
	start := l.pos
	for l.pos < len(l.src) && isWordByte(l.src[l.pos]) {
		l.pos++
	}
	return l.src[start:l.pos]
}

// parseStatement parses one governance statement of src; rest is the text
// after its delimiter.
func parseStatement(src string, delim rune) (st *Statement, parsed, rest string, err error) {
	l, err := lex(src, delim)
	if err != nil {
		return nil, "", "", err
	}
	c := &cursor{toks: l.toks}
	st, err = parseTokens(c)
	if err != nil {
		return nil, "", "", err
	}
	if err := c.end(); err != nil {
		return nil, "", "", err
	}
	parsed = strings.TrimSpace(src[:l.end])
	parsed = strings.TrimSuffix(parsed, string(delim))
	return st, strings.TrimSpace(parsed), src[l.end:], nil
}

func parseTokens(c *cursor) (*Statement, error) {
	w := strings.ToLower(c.next().text)
	switch w {
	case "create":
		if c.accept("member") {
			return parseCreateMember(c)
		}
		c.next()
		return parseCreatePolicy(c)
	case "drop":
		if c.accept("member") {
			name, err := c.ident("a member name")
			if err != nil {
				return nil, err
			}
			return propose(charter.Action{Kind: charter.KindDropMember, Name: name, Summary: "DROP MEMBER " + name}), nil
		}
		c.next()
		return parseDropPolicy(c)
	case "vote":
		st := &Statement{Op: opVote}
		switch {
		case c.accept("approve"):
			st.Approve = true
		case c.accept("reject"):
		default:
			return nil, c.errorf("expected APPROVE or REJECT")
		}
		c.accept("proposal")
		id, err := c.number("a proposal id")
		st.ID = id
		return st, err
	case "withdraw":
		c.next()
		id, err := c.number("a proposal id")
		return &Statement{Op: opWithdraw, ID: id}, err
	case "set":
		c.next()
		c.symbol("=")
		text, err := c.str("the constitution")
		if err != nil {
			return nil, err
		}
		return propose(charter.Action{Kind: charter.KindSetConstitution, Constitution: text, Summary: "SET CONSTITUTION"}), nil
	case "show":
		return parseShow(c)
	case "allow", "disallow":
		c.next()
		m, err := c.str("the measurement")
		if err != nil {
			return nil, err
		}
		m = strings.ToLower(strings.TrimSpace(m))
		kind := charter.KindAllowCode
		if w == "disallow" {
			kind = charter.KindDisallowCode
		}
		return propose(charter.Action{Kind: kind, Name: m, Summary: strings.ToUpper(w) + " CODE '" + m + "'"}), nil
	case "alter":
		c.next()
		return parseAlterUser(c)
	case "add", "remove":
		c.next()
		name, err := c.ident("a node name")
		if err != nil {
			return nil, err
		}
		if w == "remove" {
			return propose(charter.Action{Kind: charter.KindRemoveNode, Name: name, Summary: "REMOVE NODE '" + name + "'"}), nil
		}
		a := charter.Action{Kind: charter.KindAddNode, Name: name, Summary: "ADD NODE '" + name + "'"}
		if c.accept("address") {
			if a.Address, err = c.str("the node address"); err != nil {
				return nil, err
			}
			a.Summary += " ADDRESS '" + a.Address + "'"
		}
		return propose(a), nil
	}
	return nil, c.errorf("not a governance statement")
}

func propose(a charter.Action) *Statement { return &Statement{Op: opPropose, Action: a} }

func parseCreateMember(c *cursor) (*Statement, error) {
	name, err := c.ident("a member name")
	if err != nil {
		return nil, err
	}
	host := "%"
	if c.symbol("@") {
		if host, err = c.ident("a host"); err != nil {
			return nil, err
		}
	}
	st := propose(charter.Action{Kind: charter.KindCreateMember, Name: name, Summary: "CREATE MEMBER " + name})
	if c.accept("identified") {
		if err := c.expect("by"); err != nil {
			return nil, err
		}
		if st.Password, err = c.str("the password"); err != nil {
			return nil, err
		}
		st.Action.Accounts = []charter.Account{{Name: name, Host: host}}
	}
	return st, nil
}

// parseAlterUser parses the rest of ALTER USER name[@host]
// [IDENTIFIED [WITH plugin] BY 'pw'] ATTRIBUTE 'json', MySQL's form for
// changing a user's attributes: the JSON object is merged into the
// user's attributes (a key set to null is removed) when the proposal is
// applied (charter, KindAlterUser).
func parseAlterUser(c *cursor) (*Statement, error) {
	if c.is("if") {
		return nil, c.errorf("ALTER USER IF EXISTS … ATTRIBUTE is not supported; name an existing user")
	}
	name, err := c.ident("a user name")
	if err != nil {
		return nil, err
	}
	an := ast.AccountName{Name: name, AnyHost: true}
	if c.symbol("@") {
		if an.Host, err = c.ident("a host"); err != nil {
			return nil, err
		}
		an.AnyHost = false
	}
	var auth *ast.Authentication
	if c.accept("identified") {
		auth = &ast.Authentication{}
		if c.accept("with") {
			if auth.Plugin, err = c.ident("an authentication plugin"); err != nil {
				return nil, err
			}
		}
		if err := c.expect("by"); err != nil {
			return nil, err
		}
		if auth.Password, err = c.str("the password"); err != nil {
			return nil, err
		}
	}
	if err := c.expect("attribute"); err != nil {
		return nil, err
	}
	attrs, err := c.str("the attributes")
	if err != nil {
		return nil, err
	}
	if attrs == "" {
		return nil, fmt.Errorf("ALTER USER %s ATTRIBUTE '': want a JSON object such as '{\"bank\":\"A\"}'", name)
	}
	if err := checkAttributes(attrs); err != nil {
		return nil, err
	}
	acc, err := account(an, auth)
	if err != nil {
		return nil, err
	}
	acc.Attributes = attrs
	return propose(charter.Action{Kind: charter.KindAlterUser, Accounts: []charter.Account{acc}, Summary: "ALTER USER " + names([]charter.Account{acc})}), nil
}

func parseShow(c *cursor) (*Statement, error) {
	what := strings.ToLower(c.next().text)
	st := &Statement{Op: opShow, Show: what}
	switch what {
	case showPolicies:
		if c.accept("on") {
			db, table, err := tableName(c)
			st.tableDB, st.table = db, table
			return st, err
		}
	case showProposal:
		id, err := c.number("a proposal id")
		st.ID = id
		return st, err
	case showProposals:
		if c.accept("where") {
			if err := c.expect("state"); err != nil {
				return nil, err
			}
			if !c.symbol("=") {
				return nil, c.errorf("expected =")
			}
			s, err := c.str("the state")
			if err != nil {
				return nil, err
			}
			st.State = strings.ToLower(s)
			switch st.State {
			case charter.StateOpen, charter.StateAccepted, charter.StateRejected, charter.StateWithdrawn:
			default:
				return nil, fmt.Errorf("SHOW PROPOSALS: unknown state %q; use 'open', 'accepted', 'rejected' or 'withdrawn'", s)
			}
		}
	}
	return st, nil
}

// tableName parses [db.]table.
func tableName(c *cursor) (db, table string, err error) {
	if table, err = c.ident("a table name"); err != nil {
		return "", "", err
	}
	if c.symbol(".") {
		db = table
		if table, err = c.ident("a table name"); err != nil {
			return "", "", err
		}
	}
	return db, table, nil
}

func parseCreatePolicy(c *cursor) (*Statement, error) {
	name, err := c.ident("a policy name")
	if err != nil {
		return nil, err
	}
	if err := c.expect("on"); err != nil {
		return nil, err
	}
	db, table, err := tableName(c)
	if err != nil {
		return nil, err
	}
	p := &charter.Policy{Name: name, Command: "ALL"}
	if c.accept("as") {
		if !c.accept("permissive") && !c.accept("restrictive") {
			return nil, c.errorf("expected PERMISSIVE or RESTRICTIVE")
		}
		// The policy issue decides how restrictive policies combine; the
		// keyword is kept in the command for it.
		if strings.EqualFold(c.toks[c.i-1].text, "restrictive") {
			p.Command = "RESTRICTIVE ALL"
		}
	}
	if c.accept("for") {
		cmd := strings.ToUpper(c.next().text)
		switch cmd {
		case "ALL", "SELECT", "INSERT", "UPDATE", "DELETE":
		default:
			return nil, c.errorf("expected ALL, SELECT, INSERT, UPDATE or DELETE")
		}
		p.Command = strings.Replace(p.Command, "ALL", cmd, 1)
	}
	if c.accept("to") {
		for {
			r, err := c.ident("a role name")
			if err != nil {
				return nil, err
			}
			p.Roles = append(p.Roles, r)
			if !c.symbol(",") {
				break
			}
		}
	}
	if c.accept("using") {
		if p.Using, err = celText(c, "USING"); err != nil {
			return nil, err
		}
	}
	if c.accept("with") {
		if err := c.expect("check"); err != nil {
			return nil, err
		}
		if p.Check, err = celText(c, "WITH CHECK"); err != nil {
			return nil, err
		}
	}
	if p.Using == "" && p.Check == "" {
		return nil, c.errorf("a policy needs USING '<cel>' or WITH CHECK '<cel>'")
	}
	st := propose(charter.Action{Kind: charter.KindCreatePolicy, Policy: p})
	st.tableDB, st.table = db, table
	return st, nil
}

func parseDropPolicy(c *cursor) (*Statement, error) {
	name, err := c.ident("a policy name")
	if err != nil {
		return nil, err
	}
	if err := c.expect("on"); err != nil {
		return nil, err
	}
	db, table, err := tableName(c)
	if err != nil {
		return nil, err
	}
	st := propose(charter.Action{Kind: charter.KindDropPolicy, Policy: &charter.Policy{Name: name}})
	st.tableDB, st.table = db, table
	return st, nil
}

// celText reads a CEL expression and checks that it parses; type-checking
// against the table belongs to the policy engine.
func celText(c *cursor, clause string) (string, error) {
	text, err := c.str("the " + clause + " expression")
	if err != nil {
		return "", err
	}
	env, err := cel.NewEnv()
	if err != nil {
		return "", err
	}
	if _, iss := env.Parse(text); iss.Err() != nil {
		return "", fmt.Errorf("%s expression: %s", clause, strings.TrimSpace(iss.Err().Error()))
	}
	return text, nil
}
