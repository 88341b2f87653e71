package pgwire

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// Users and grants map onto the engine's accounts (user@'%'). A password
// set here also gets a SCRAM verifier (see auth.go). The engine's account
// statements are charter proposals, which may stay open until members
// vote: the verifier is stored as current only when the statement's
// proposal was accepted, as pending while it is open (it matches the
// account once accepted), and not at all when rejected.

// Proposal states in a governance statement's result row (the charter's
// StateAccepted and StateOpen).
const (
	proposalAccepted = "accepted"
	proposalOpen     = "open"
)

// proposalState is the state of the proposal a statement made, read from
// its result row's state column. A statement without a proposal row took
// effect directly: accepted.
func proposalState(res *result) string {
	if res == nil || res.schema == nil {
		return proposalAccepted
	}
	i := res.schema.IndexOfColName("state")
	if i < 0 || len(res.rows) != 1 || i >= len(res.rows[0]) {
		return proposalAccepted
	}
	s, _ := res.rows[0][i].(string)
	return s
}

// enrollProposed stores the verifier for the password st set, as its
// proposal's state allows.
func (c *conn) enrollProposed(st *statement, res *result) {
	var err error
	switch proposalState(res) {
	case proposalAccepted:
		err = Enroll(c.ctx, c.s.engine, st.enrollUser, st.enrollPassword)
	case proposalOpen:
		err = enrollPending(c.ctx, c.s.engine, st.enrollUser, st.enrollPassword)
	default:
		return
	}
	if err != nil {
		c.s.cfg.Logger.Warn("pgwire: could not store SCRAM verifier", "user", st.enrollUser, "err", err)
	}
}

// accountName writes an account the way the engine's (and the charter's)
// user statements read it: user@'%'.
func accountName(user string) string { return quoteIdent(user) }

func rolePassword(opts []*pg.Node) (string, bool) {
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil || d.Defname != "password" {
			continue
		}
		if sv := d.Arg.GetString_(); sv != nil {
			return sv.Sval, true
		}
		if c := d.Arg.GetAConst(); c != nil && c.GetSval() != nil {
			return c.GetSval().Sval, true
		}
	}
	return "", false
}

func (t *translator) createRole(s *pg.CreateRoleStmt) statement {
	pw, ok := rolePassword(s.Options)
	q := "CREATE USER " + accountName(s.Role)
	if ok {
		q += " IDENTIFIED BY " + quoteString(pw)
	}
	st := statement{sql: q, tag: "CREATE ROLE"}
	if ok {
		st.enrollUser, st.enrollPassword = s.Role, pw
	}
	return st
}

func (t *translator) alterRole(s *pg.AlterRoleStmt) statement {
	pw, ok := rolePassword(s.Options)
	if !ok || s.Role == nil {
		t.unsupported("ALTER ROLE other than … PASSWORD")
	}
	return statement{sql: "ALTER USER " + accountName(s.Role.Rolename) + " IDENTIFIED BY " + quoteString(pw),
		tag: "ALTER ROLE", enrollUser: s.Role.Rolename, enrollPassword: pw}
}

func (t *translator) dropRole(s *pg.DropRoleStmt) statement {
	var names []string
	for _, r := range s.Roles {
		names = append(names, accountName(r.GetRoleSpec().Rolename))
	}
	q := "DROP USER "
	if s.MissingOk {
		q += "IF EXISTS "
	}
	return statement{sql: q + strings.Join(names, ", "), tag: "DROP ROLE"}
}

func (t *translator) grant(s *pg.GrantStmt) statement {
	if s.Targtype != pg.GrantTargetType_ACL_TARGET_OBJECT && s.Targtype != pg.GrantTargetType_ACL_TARGET_ALL_IN_SCHEMA {
		t.unsupported("ALTER DEFAULT PRIVILEGES")
	}
	var privs []string
	for _, p := range s.Privileges {
		ap := p.GetAccessPriv()
		if len(ap.Cols) > 0 {
			t.unsupported("column privileges")
		}
		privs = append(privs, strings.ToUpper(ap.PrivName))
	}
	if len(privs) == 0 {
		privs = []string{"ALL PRIVILEGES"}
	}
	var objects []string
	switch {
	case s.Targtype == pg.GrantTargetType_ACL_TARGET_ALL_IN_SCHEMA:
		objects = []string{"*"}
	case s.Objtype == pg.ObjectType_OBJECT_TABLE:
		for _, o := range s.Objects {
			objects = append(objects, t.rangeVar(o.GetRangeVar(), false))
		}
	case s.Objtype == pg.ObjectType_OBJECT_DATABASE:
		for _, o := range s.Objects {
			objects = append(objects, quoteIdent(o.GetString_().Sval)+".*")
		}
	default:
		t.unsupported("GRANT on " + strings.TrimPrefix(s.Objtype.String(), "OBJECT_"))
	}
	if len(objects) != 1 {
		t.unsupported("GRANT on several objects in one statement")
	}
	var who []string
	for _, g := range s.Grantees {
		who = append(who, accountName(g.GetRoleSpec().Rolename))
	}
	if s.IsGrant {
		q := "GRANT " + strings.Join(privs, ", ") + " ON " + objects[0] + " TO " + strings.Join(who, ", ")
		if s.GrantOption {
			q += " WITH GRANT OPTION"
		}
		return statement{sql: q, tag: "GRANT"}
	}
	return statement{sql: "REVOKE " + strings.Join(privs, ", ") + " ON " + objects[0] + " FROM " + strings.Join(who, ", "), tag: "REVOKE"}
}
