package pgwire

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// stmtKind says how the connection runs a translated statement.
type stmtKind int

const (
	kindEngine    stmtKind = iota // run sql on the engine
	kindEmpty                     // empty query
	kindSet                       // SET / RESET of a session setting
	kindShow                      // SHOW of a session setting
	kindBegin                     // BEGIN / START TRANSACTION
	kindCommit                    // COMMIT / END
	kindRollback                  // ROLLBACK / ABORT
	kindNoop                      // accepted and ignored (answered with tag)
	kindEmptyRows                 // an empty result with columns (catalog fallback)
	kindCopy                      // COPY FROM STDIN / TO STDOUT (copy.go)
)

// statement is one PostgreSQL statement translated for the engine.
type statement struct {
	kind stmtKind
	// sql is the engine's (MySQL-dialect) text.
	sql string
	// tag is the command tag verb: SELECT, INSERT, CREATE TABLE …
	tag string
	// returning is the RETURNING list in engine SQL, or "".
	returning string
	// returningSelect reads what a DELETE … RETURNING returns.
	returningSelect string
	// params is the highest $n used; hints give some parameters a column
	// whose type they take.
	params int
	hints  map[int]paramHint
	// setName / setValue for kindSet and kindShow.
	setName  string
	setValue string
	// enrollUser / enrollPassword: a password the statement sets, for
	// the user's SCRAM verifier.
	enrollUser, enrollPassword string
	// then are more engine statements run after sql (TRUNCATE a, b).
	then []string
	// callSource runs the statement's own text on the engine (CALL).
	callSource bool
	// columns names kindEmptyRows's columns.
	columns []string
	// copy is a COPY statement's table, columns, query and format.
	copy *copySpec
	// readOnly is BEGIN READ ONLY.
	readOnly bool
	// source is the original PostgreSQL text of the statement.
	source string
	// pgErr is PostgreSQL's parse error for a text passed to the
	// engine as it is (Coffer's own statements).
	pgErr *pgError
	// alterColumns are ALTER TABLE's column changes that need the
	// table's definition; sql is built from it when the statement runs.
	alterColumns *alterColumns
	// resultTypes are the PostgreSQL integer types inferred for the
	// result columns (0: the engine's type); see resulttypes.go.
	resultTypes []uint32
}

// paramHint ties $n to a column (table may be empty: the statement's
// only table) or to a fixed type.
type paramHint struct {
	table, column string
	oid           uint32
}

// translateError aborts a translation; it carries the wire error.
type translateError struct{ err *pgError }

// translator turns one parse tree into engine SQL.
type translator struct {
	maxParam int
	hints    map[int]paramHint
	// scope is the statement's first table, for $n hints.
	scope string
	// user is the connected user, for CURRENT_USER.
	user string
	// inConflictUpdate maps EXCLUDED.col to VALUES(col).
	inConflictUpdate bool
	// lookup gives a column's type OID (0: unknown); may be nil.
	lookup columnLookup
	// types is the SELECT being translated, for inferring integer types;
	// depth bounds that inference's recursion.
	types *typeScope
	depth int
}

// columnLookup returns the PostgreSQL type OID of table.column, or 0.
type columnLookup func(table, column string) uint32

// valueFor translates a value written to table.column: boolean columns
// take PostgreSQL's boolean spellings ('t', 'false', …) that clients
// interpolate.
func (t *translator) valueFor(table, column string, n *pg.Node) string {
	c := n.GetAConst()
	if c == nil || c.GetSval() == nil || t.lookup == nil {
		return t.expr(n)
	}
	sval := strings.TrimSpace(c.GetSval().Sval)
	switch t.lookup(table, column) {
	case oidBool:
		switch strings.ToLower(sval) {
		case "t", "true", "y", "yes", "on", "1":
			return "TRUE"
		case "f", "false", "n", "no", "off", "0":
			return "FALSE"
		}
	case oidTimestamp, oidTimestamptz:
		if tm, ok := parseTimestamp(sval); ok {
			return quoteString(tm.UTC().Format("2006-01-02 15:04:05.999999"))
		}
	}
	return t.expr(n)
}

// parseTimestamp reads PostgreSQL timestamp input with a zone, which the
// engine does not accept; times are stored in UTC.
func parseTimestamp(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z07", "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999-07:00:00"} {
		if tm, err := time.Parse(layout, s); err == nil {
			return tm, true
		}
	}
	return time.Time{}, false
}

func (t *translator) fail(e *pgError) { panic(translateError{e}) }

func (t *translator) unsupported(what string) { t.fail(unsupported(what)) }

// translate parses text with PostgreSQL's parser and returns its
// statements translated for the engine. A text PostgreSQL cannot parse is
// returned as a syntax error, with parseErr set so that the caller may try
// the engine's own parser (governance statements).
func translate(text, user string, lookup columnLookup) (stmts []statement, err *pgError) {
	tree, perr := pg.Parse(text)
	if perr != nil {
		return nil, &pgError{Code: codeSyntaxError, Message: perr.Error()}
	}
	if len(tree.Stmts) == 0 {
		return []statement{{kind: kindEmpty}}, nil
	}
	for _, raw := range tree.Stmts {
		src := text
		if raw.StmtLen > 0 {
			src = text[raw.StmtLocation : raw.StmtLocation+raw.StmtLen]
		} else if raw.StmtLocation > 0 {
			src = text[raw.StmtLocation:]
		}
		st, err := translateOne(raw.Stmt, user, lookup)
		if err != nil {
			return nil, err
		}
		st.source = strings.TrimSpace(src)
		if st.callSource {
			st.sql = st.source
		}
		stmts = append(stmts, st)
	}
	return stmts, nil
}

func translateOne(n *pg.Node, user string, lookup columnLookup) (st statement, err *pgError) {
	t := &translator{hints: map[int]paramHint{}, user: user, lookup: lookup}
	defer func() {
		if r := recover(); r != nil {
			te, ok := r.(translateError)
			if !ok {
				panic(r)
			}
			err = te.err
			if fb, ok := catalogFallback(n); ok && err.Code == codeFeatureNotSupported {
				st, err = fb, nil
			}
		}
	}()
	st = t.stmt(n)
	st.params, st.hints = t.maxParam, t.hints
	return st, nil
}

func (t *translator) stmt(n *pg.Node) statement {
	switch {
	case n.GetSelectStmt() != nil:
		sel := n.GetSelectStmt()
		return statement{sql: t.selectStmt(sel), tag: "SELECT", resultTypes: t.selectResultTypes(sel, nil)}
	case n.GetInsertStmt() != nil:
		return t.insertStmt(n.GetInsertStmt())
	case n.GetUpdateStmt() != nil:
		return t.updateStmt(n.GetUpdateStmt())
	case n.GetDeleteStmt() != nil:
		return t.deleteStmt(n.GetDeleteStmt())
	case n.GetCreateStmt() != nil:
		return statement{sql: t.createTable(n.GetCreateStmt()), tag: "CREATE TABLE"}
	case n.GetDropStmt() != nil:
		return t.dropStmt(n.GetDropStmt())
	case n.GetIndexStmt() != nil:
		return statement{sql: t.createIndex(n.GetIndexStmt()), tag: "CREATE INDEX"}
	case n.GetAlterTableStmt() != nil:
		return t.alterTable(n.GetAlterTableStmt())
	case n.GetRenameStmt() != nil:
		return statement{sql: t.renameStmt(n.GetRenameStmt()), tag: "ALTER TABLE"}
	case n.GetTruncateStmt() != nil:
		ts := n.GetTruncateStmt()
		st := statement{tag: "TRUNCATE TABLE"}
		for i, r := range ts.Relations {
			q := "TRUNCATE TABLE " + t.rangeVar(r.GetRangeVar(), false)
			if i == 0 {
				st.sql = q
			} else {
				st.then = append(st.then, q)
			}
		}
		return st
	case n.GetViewStmt() != nil:
		vs := n.GetViewStmt()
		kw := "CREATE VIEW "
		if vs.Replace {
			kw = "CREATE OR REPLACE VIEW "
		}
		return statement{sql: kw + t.rangeVar(vs.View, false) + " AS " + t.selectStmt(vs.Query.GetSelectStmt()), tag: "CREATE VIEW"}
	case n.GetCreatedbStmt() != nil:
		return statement{sql: "CREATE DATABASE " + quoteIdent(n.GetCreatedbStmt().Dbname), tag: "CREATE DATABASE"}
	case n.GetDropdbStmt() != nil:
		d := n.GetDropdbStmt()
		ifx := ""
		if d.MissingOk {
			ifx = "IF EXISTS "
		}
		return statement{sql: "DROP DATABASE " + ifx + quoteIdent(d.Dbname), tag: "DROP DATABASE"}
	case n.GetTransactionStmt() != nil:
		return t.transactionStmt(n.GetTransactionStmt())
	case n.GetVariableSetStmt() != nil:
		return t.setStmt(n.GetVariableSetStmt())
	case n.GetVariableShowStmt() != nil:
		return statement{kind: kindShow, setName: strings.ToLower(n.GetVariableShowStmt().Name), tag: "SHOW"}
	case n.GetExplainStmt() != nil:
		return statement{sql: "EXPLAIN " + t.stmt(n.GetExplainStmt().Query).sql, tag: "EXPLAIN"}
	case n.GetDiscardStmt() != nil:
		return statement{kind: kindNoop, tag: "DISCARD ALL"}
	case n.GetDeallocateStmt() != nil:
		return statement{kind: kindNoop, tag: "DEALLOCATE"}
	case n.GetCreateSchemaStmt() != nil:
		cs := n.GetCreateSchemaStmt()
		if cs.Schemaname == "public" && cs.IfNotExists {
			return statement{kind: kindNoop, tag: "CREATE SCHEMA"}
		}
		t.unsupported("CREATE SCHEMA (a Coffer database has one schema, public; use CREATE DATABASE)")
	case n.GetCreateRoleStmt() != nil:
		return t.createRole(n.GetCreateRoleStmt())
	case n.GetAlterRoleStmt() != nil:
		return t.alterRole(n.GetAlterRoleStmt())
	case n.GetDropRoleStmt() != nil:
		return t.dropRole(n.GetDropRoleStmt())
	case n.GetGrantStmt() != nil:
		return t.grant(n.GetGrantStmt())
	case n.GetVacuumStmt() != nil:
		// Storage needs no vacuuming; accepted so that tools run.
		return statement{kind: kindNoop, tag: "VACUUM"}
	case n.GetCommentStmt() != nil:
		return statement{kind: kindNoop, tag: "COMMENT"}
	case n.GetCreateSeqStmt() != nil:
		t.unsupported("CREATE SEQUENCE (use SERIAL, BIGSERIAL or GENERATED … AS IDENTITY)")
	case n.GetCallStmt() != nil:
		// CALL coffer_…(): the engine's procedures; the text is the same.
		return statement{sql: "", tag: "CALL", callSource: true}
	case n.GetCopyStmt() != nil:
		return t.copyStmt(n.GetCopyStmt())
	case n.GetListenStmt() != nil, n.GetNotifyStmt() != nil:
		t.unsupported("LISTEN/NOTIFY")
	case n.GetLockStmt() != nil:
		t.unsupported("LOCK TABLE")
	}
	t.unsupported(fmt.Sprintf("statement %s", stmtName(n)))
	return statement{}
}

// stmtName names a parse node's statement type for error messages.
func stmtName(n *pg.Node) string {
	s := fmt.Sprintf("%T", n.GetNode())
	s = strings.TrimPrefix(s, "*pg_query.Node_")
	return s
}

func (t *translator) transactionStmt(s *pg.TransactionStmt) statement {
	switch s.Kind {
	case pg.TransactionStmtKind_TRANS_STMT_BEGIN, pg.TransactionStmtKind_TRANS_STMT_START:
		st := statement{kind: kindBegin, tag: "BEGIN"}
		for _, o := range s.Options {
			d := o.GetDefElem()
			if d == nil {
				continue
			}
			switch d.Defname {
			case "transaction_read_only":
				st.readOnly = constInt(d.Arg) == 1
			case "transaction_isolation":
				st.setValue = constString(d.Arg)
			}
		}
		return st
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT:
		return statement{kind: kindCommit, tag: "COMMIT"}
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		return statement{kind: kindRollback, tag: "ROLLBACK"}
	case pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		return statement{sql: "SAVEPOINT " + quoteIdent(s.SavepointName), tag: "SAVEPOINT"}
	case pg.TransactionStmtKind_TRANS_STMT_RELEASE:
		return statement{sql: "RELEASE SAVEPOINT " + quoteIdent(s.SavepointName), tag: "RELEASE"}
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		return statement{sql: "ROLLBACK TO SAVEPOINT " + quoteIdent(s.SavepointName), tag: "ROLLBACK"}
	}
	t.unsupported("two-phase commit (PREPARE TRANSACTION)")
	return statement{}
}

func constInt(n *pg.Node) int64 {
	if n == nil {
		return 0
	}
	if c := n.GetAConst(); c != nil {
		if iv := c.GetIval(); iv != nil {
			return int64(iv.Ival)
		}
		if b := c.GetBoolval(); b != nil && b.Boolval {
			return 1
		}
	}
	return 0
}

// constString is the text of a constant (a string, or a keyword list such
// as READ COMMITTED, which the parser gives as one string).
func constString(n *pg.Node) string {
	if n == nil {
		return ""
	}
	if c := n.GetAConst(); c != nil {
		if s := c.GetSval(); s != nil {
			return s.Sval
		}
	}
	return ""
}

func (t *translator) setStmt(s *pg.VariableSetStmt) statement {
	name := strings.ToLower(s.Name)
	switch s.Kind {
	case pg.VariableSetKind_VAR_RESET, pg.VariableSetKind_VAR_SET_DEFAULT:
		return statement{kind: kindSet, setName: name, setValue: "", tag: "RESET"}
	case pg.VariableSetKind_VAR_RESET_ALL:
		return statement{kind: kindNoop, tag: "RESET"}
	case pg.VariableSetKind_VAR_SET_MULTI:
		// SET TRANSACTION / SET SESSION CHARACTERISTICS AS TRANSACTION:
		// the isolation level is kept (isolation.go); READ ONLY / READ
		// WRITE and DEFERRABLE are accepted and ignored.
		setName := "transaction_isolation"
		if name != "transaction" {
			setName = "default_transaction_isolation"
		}
		for _, a := range s.Args {
			if d := a.GetDefElem(); d != nil && d.Defname == "transaction_isolation" {
				return statement{kind: kindSet, setName: setName, setValue: constString(d.Arg), tag: "SET"}
			}
		}
		return statement{kind: kindNoop, tag: "SET"}
	}
	var vals []string
	for _, a := range s.Args {
		c := a.GetAConst()
		if c == nil {
			vals = append(vals, t.expr(a))
			continue
		}
		switch {
		case c.GetSval() != nil:
			vals = append(vals, c.GetSval().Sval)
		case c.GetIval() != nil:
			vals = append(vals, strconv.Itoa(int(c.GetIval().Ival)))
		case c.GetFval() != nil:
			vals = append(vals, c.GetFval().Fval)
		case c.GetBoolval() != nil:
			vals = append(vals, strconv.FormatBool(c.GetBoolval().Boolval))
		}
	}
	return statement{kind: kindSet, setName: name, setValue: strings.Join(vals, ", "), tag: "SET"}
}

func (t *translator) insertStmt(s *pg.InsertStmt) statement {
	if s.WithClause != nil {
		t.unsupported("WITH before INSERT")
	}
	var b strings.Builder
	b.WriteString("INSERT ")
	oc := s.OnConflictClause
	if oc != nil && oc.Action == pg.OnConflictAction_ONCONFLICT_NOTHING {
		b.WriteString("IGNORE ")
	}
	table := t.rangeVar(s.Relation, false)
	t.scope = s.Relation.Relname
	b.WriteString("INTO " + table)
	var cols []string
	for _, c := range s.Cols {
		cols = append(cols, c.GetResTarget().Name)
	}
	if len(cols) > 0 {
		b.WriteString(" (" + joinIdents(cols) + ")")
	}
	switch sel := s.SelectStmt.GetSelectStmt(); {
	case sel == nil:
		b.WriteString(" () VALUES ()")
	case len(sel.ValuesLists) > 0:
		b.WriteString(" VALUES ")
		for i, row := range sel.ValuesLists {
			if i > 0 {
				b.WriteString(", ")
			}
			items := row.GetList().Items
			vals := make([]string, len(items))
			for j, it := range items {
				col := ""
				if j < len(cols) {
					col = cols[j]
				}
				if p := it.GetParamRef(); p != nil && col != "" {
					t.hints[int(p.Number)] = paramHint{table: s.Relation.Relname, column: col}
				}
				if col != "" {
					vals[j] = t.valueFor(s.Relation.Relname, col, it)
				} else {
					vals[j] = t.expr(it)
				}
			}
			b.WriteString("(" + strings.Join(vals, ", ") + ")")
		}
	default:
		b.WriteString(" " + t.selectStmt(sel))
	}
	if oc != nil && oc.Action == pg.OnConflictAction_ONCONFLICT_UPDATE {
		if oc.WhereClause != nil {
			t.unsupported("ON CONFLICT … DO UPDATE … WHERE")
		}
		t.inConflictUpdate = true
		b.WriteString(" ON DUPLICATE KEY UPDATE " + t.setList(oc.TargetList))
		t.inConflictUpdate = false
	}
	return statement{sql: b.String(), tag: "INSERT", returning: t.targetList(s.ReturningList),
		resultTypes: t.returningTypes(s.Relation.Relname, s.ReturningList)}
}

func (t *translator) setList(targets []*pg.Node) string {
	var parts []string
	for _, n := range targets {
		rt := n.GetResTarget()
		if len(rt.Indirection) > 0 {
			t.unsupported("assignment to a field or array element")
		}
		if mr := rt.Val.GetMultiAssignRef(); mr != nil {
			t.unsupported("SET (a, b) = (…)")
		}
		if p := rt.Val.GetParamRef(); p != nil {
			t.hints[int(p.Number)] = paramHint{table: t.scope, column: rt.Name}
		}
		if e := rt.Val.GetAExpr(); e != nil && len(e.Name) == 1 && e.Lexpr != nil && e.Rexpr != nil {
			// `col = col ± $n`: $n has the column's type, as the
			// fast path's arithmetic needs it (an integer, not text).
			op := stringList(e.Name)
			cr := e.Lexpr.GetColumnRef()
			if p := e.Rexpr.GetParamRef(); p != nil && cr != nil && len(op) == 1 && (op[0] == "+" || op[0] == "-") {
				if f := stringList(cr.Fields); len(f) > 0 && equalFold(f[len(f)-1], rt.Name) {
					t.hints[int(p.Number)] = paramHint{table: t.scope, column: rt.Name}
				}
			}
		}
		parts = append(parts, quoteIdent(rt.Name)+" = "+t.valueFor(t.scope, rt.Name, rt.Val))
	}
	return strings.Join(parts, ", ")
}

func (t *translator) updateStmt(s *pg.UpdateStmt) statement {
	if s.WithClause != nil {
		t.unsupported("WITH before UPDATE")
	}
	t.scope = s.Relation.Relname
	t.types = tableScope(s.Relation)
	var b strings.Builder
	b.WriteString("UPDATE " + t.rangeVar(s.Relation, true))
	for _, f := range s.FromClause {
		b.WriteString(", " + t.fromItem(f))
	}
	b.WriteString(" SET " + t.setList(s.TargetList))
	if s.WhereClause != nil {
		b.WriteString(" WHERE " + t.expr(s.WhereClause))
	}
	return statement{sql: b.String(), tag: "UPDATE", returning: t.targetList(s.ReturningList),
		resultTypes: t.returningTypes(s.Relation.Relname, s.ReturningList)}
}

func (t *translator) deleteStmt(s *pg.DeleteStmt) statement {
	if s.WithClause != nil {
		t.unsupported("WITH before DELETE")
	}
	if len(s.UsingClause) > 0 {
		t.unsupported("DELETE … USING")
	}
	t.scope = s.Relation.Relname
	t.types = tableScope(s.Relation)
	from := t.rangeVar(s.Relation, true)
	where := ""
	if s.WhereClause != nil {
		where = " WHERE " + t.expr(s.WhereClause)
	}
	st := statement{sql: "DELETE FROM " + from + where, tag: "DELETE"}
	if len(s.ReturningList) > 0 {
		// The engine does not return deleted rows: they are read first,
		// in the same transaction.
		st.returningSelect = "SELECT " + t.targetList(s.ReturningList) + " FROM " + from + where
		st.resultTypes = t.returningTypes(s.Relation.Relname, s.ReturningList)
	}
	return st
}

func (t *translator) targetList(list []*pg.Node) string {
	var parts []string
	for _, n := range list {
		rt := n.GetResTarget()
		if rt == nil {
			t.unsupported("target " + stmtName(n))
		}
		e := t.expr(rt.Val)
		if rt.Name != "" {
			e += " AS " + quoteIdent(rt.Name)
		} else if name := impliedName(rt.Val); name != "" {
			e += " AS " + quoteIdent(name)
		}
		parts = append(parts, e)
	}
	return strings.Join(parts, ", ")
}

// impliedName is the column name PostgreSQL gives an unnamed select item
// where the engine would name it after the expression text.
func impliedName(n *pg.Node) string {
	switch {
	case n.GetFuncCall() != nil:
		fn := n.GetFuncCall().Funcname
		return fn[len(fn)-1].GetString_().Sval
	case n.GetTypeCast() != nil:
		if cr := n.GetTypeCast().Arg.GetColumnRef(); cr != nil {
			if f := stringList(cr.Fields); len(f) > 0 {
				return f[len(f)-1]
			}
		}
		if inner := impliedName(n.GetTypeCast().Arg); inner != "" && inner != "?column?" {
			return inner
		}
		names := n.GetTypeCast().TypeName.Names
		return pgTypeName(names[len(names)-1].GetString_().Sval)
	case n.GetAConst() != nil, n.GetAExpr() != nil, n.GetBoolExpr() != nil, n.GetNullTest() != nil:
		return "?column?"
	case n.GetCaseExpr() != nil:
		return "case"
	case n.GetSqlvalueFunction() != nil:
		return sqlValueFuncName(n.GetSqlvalueFunction().Op)
	case n.GetSubLink() != nil:
		if n.GetSubLink().SubLinkType == pg.SubLinkType_EXISTS_SUBLINK {
			return "exists"
		}
	case n.GetCoalesceExpr() != nil:
		return "coalesce"
	}
	return ""
}

// pgTypeName is the name PostgreSQL shows for an internal type name.
func pgTypeName(s string) string {
	switch s {
	case "int4":
		return "int4"
	case "bpchar":
		return "bpchar"
	}
	return s
}

func (t *translator) selectStmt(s *pg.SelectStmt) string {
	if s == nil {
		t.unsupported("this query form")
	}
	// Column references in this SELECT resolve in its FROM list, for
	// the integer types of / (see operator).
	outer := t.types
	t.types = t.newTypeScope(s, outer)
	defer func() { t.types = outer }()
	var b strings.Builder
	if w := s.WithClause; w != nil {
		b.WriteString("WITH ")
		if w.Recursive {
			b.WriteString("RECURSIVE ")
		}
		for i, c := range w.Ctes {
			cte := c.GetCommonTableExpr()
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(cte.Ctename))
			if len(cte.Aliascolnames) > 0 {
				b.WriteString(" (" + joinIdents(stringList(cte.Aliascolnames)) + ")")
			}
			b.WriteString(" AS (" + t.selectStmt(cte.Ctequery.GetSelectStmt()) + ")")
		}
		b.WriteString(" ")
	}
	if s.Op != pg.SetOperation_SETOP_NONE {
		ops := map[pg.SetOperation]string{pg.SetOperation_SETOP_UNION: "UNION", pg.SetOperation_SETOP_INTERSECT: "INTERSECT", pg.SetOperation_SETOP_EXCEPT: "EXCEPT"}
		op := ops[s.Op]
		if s.All {
			op += " ALL"
		}
		b.WriteString("(" + t.selectStmt(s.Larg) + ") " + op + " (" + t.selectStmt(s.Rarg) + ")")
		t.orderLimit(&b, s)
		return b.String()
	}
	if len(s.ValuesLists) > 0 {
		b.WriteString("SELECT * FROM (VALUES ")
		for i, row := range s.ValuesLists {
			if i > 0 {
				b.WriteString(", ")
				b.WriteString("ROW(" + t.exprList(row.GetList().Items) + ")")
				continue
			}
			// The engine types a VALUES column of integers by its first
			// row and clamps wider values of later rows to it (1, 1000
			// read back as 1, 127): the first row's integer constants
			// are made bigints.
			items := row.GetList().Items
			parts := make([]string, len(items))
			for j, it := range items {
				parts[j] = t.expr(it)
				if isIntConst(it) {
					parts[j] = "CAST(" + parts[j] + " AS SIGNED)"
				}
			}
			b.WriteString("ROW(" + strings.Join(parts, ", ") + ")")
		}
		b.WriteString(") AS `*VALUES*`")
		t.orderLimit(&b, s)
		return b.String()
	}
	if s.IntoClause != nil {
		t.unsupported("SELECT INTO")
	}
	b.WriteString("SELECT ")
	if len(s.DistinctClause) > 0 {
		if len(s.DistinctClause) == 1 && s.DistinctClause[0].GetNode() == nil {
			b.WriteString("DISTINCT ")
		} else {
			t.unsupported("SELECT DISTINCT ON")
		}
	}
	if len(s.FromClause) > 0 && s.FromClause[0].GetRangeVar() != nil && t.scope == "" {
		t.scope = s.FromClause[0].GetRangeVar().Relname
	}
	b.WriteString(t.targetList(s.TargetList))
	if len(s.FromClause) > 0 {
		var items []string
		for _, f := range s.FromClause {
			items = append(items, t.fromItem(f))
		}
		b.WriteString(" FROM " + strings.Join(items, ", "))
	}
	if s.WhereClause != nil {
		b.WriteString(" WHERE " + t.expr(s.WhereClause))
	}
	if len(s.GroupClause) > 0 {
		b.WriteString(" GROUP BY " + t.exprList(s.GroupClause))
	}
	if s.HavingClause != nil {
		b.WriteString(" HAVING " + t.expr(s.HavingClause))
	}
	if len(s.WindowClause) > 0 {
		t.unsupported("WINDOW clause")
	}
	t.orderLimit(&b, s)
	for _, l := range s.LockingClause {
		lc := l.GetLockingClause()
		if lc != nil && lc.Strength >= pg.LockClauseStrength_LCS_FORNOKEYUPDATE {
			// Snapshot isolation with first-committer-wins makes row
			// locks unnecessary for correctness; FOR UPDATE is accepted
			// and a conflicting commit fails with 40001 instead.
			continue
		}
	}
	return b.String()
}

func (t *translator) orderLimit(b *strings.Builder, s *pg.SelectStmt) {
	if len(s.SortClause) > 0 {
		var parts []string
		for _, n := range s.SortClause {
			sb := n.GetSortBy()
			e := t.expr(sb.Node)
			desc := sb.SortbyDir == pg.SortByDir_SORTBY_DESC
			// Explicit NULLS FIRST/LAST become an IS NULL sort key. The
			// default differs from PostgreSQL (the engine sorts NULLs
			// first ascending); see docs/guide/postgres.md.
			switch sb.SortbyNulls {
			case pg.SortByNulls_SORTBY_NULLS_FIRST:
				parts = append(parts, "("+e+") IS NULL DESC")
			case pg.SortByNulls_SORTBY_NULLS_LAST:
				parts = append(parts, "("+e+") IS NULL ASC")
			}
			if desc {
				e += " DESC"
			}
			parts = append(parts, e)
		}
		b.WriteString(" ORDER BY " + strings.Join(parts, ", "))
	}
	if s.LimitCount != nil {
		if c := s.LimitCount.GetAConst(); c != nil && c.Isnull {
			// LIMIT ALL / LIMIT NULL
		} else {
			b.WriteString(" LIMIT " + t.limitExpr(s.LimitCount))
		}
	}
	if s.LimitOffset != nil {
		if s.LimitCount == nil {
			b.WriteString(" LIMIT 18446744073709551615")
		}
		b.WriteString(" OFFSET " + t.limitExpr(s.LimitOffset))
	}
}

func (t *translator) limitExpr(n *pg.Node) string {
	if c := n.GetAConst(); c != nil && c.GetSval() != nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(c.GetSval().Sval), 10, 64); err == nil {
			return strconv.FormatInt(v, 10)
		}
	}
	if p := n.GetParamRef(); p != nil {
		t.hints[int(p.Number)] = paramHint{oid: oidInt8}
	}
	return t.expr(n)
}

func (t *translator) fromItem(n *pg.Node) string {
	switch {
	case n.GetRangeVar() != nil:
		return t.rangeVar(n.GetRangeVar(), true)
	case n.GetJoinExpr() != nil:
		j := n.GetJoinExpr()
		if j.Alias != nil {
			t.unsupported("an alias on a JOIN")
		}
		kinds := map[pg.JoinType]string{pg.JoinType_JOIN_INNER: "JOIN", pg.JoinType_JOIN_LEFT: "LEFT JOIN", pg.JoinType_JOIN_RIGHT: "RIGHT JOIN", pg.JoinType_JOIN_FULL: "FULL OUTER JOIN"}
		kind, ok := kinds[j.Jointype]
		if !ok {
			t.unsupported("this join type")
		}
		if j.IsNatural {
			kind = "NATURAL " + kind
		}
		if j.Jointype == pg.JoinType_JOIN_INNER && j.Quals == nil && len(j.UsingClause) == 0 && !j.IsNatural {
			kind = "CROSS JOIN"
		}
		s := "(" + t.fromItem(j.Larg) + " " + kind + " " + t.fromItem(j.Rarg)
		if len(j.UsingClause) > 0 {
			s += " USING (" + joinIdents(stringList(j.UsingClause)) + ")"
		}
		if j.Quals != nil {
			s += " ON " + t.expr(j.Quals)
		}
		return s + ")"
	case n.GetRangeSubselect() != nil:
		rs := n.GetRangeSubselect()
		s := "(" + t.selectStmt(rs.Subquery.GetSelectStmt()) + ")"
		if rs.Lateral {
			s = "LATERAL " + s
		}
		if rs.Alias != nil {
			s += " AS " + quoteIdent(rs.Alias.Aliasname)
			if len(rs.Alias.Colnames) > 0 {
				s += " (" + joinIdents(stringList(rs.Alias.Colnames)) + ")"
			}
		} else {
			s += " AS `subquery`"
		}
		return s
	case n.GetRangeFunction() != nil:
		return t.rangeFunction(n.GetRangeFunction())
	}
	t.unsupported("FROM item " + stmtName(n))
	return ""
}

// rangeVar names a table. pg_catalog relations become derived tables over
// the engine's information_schema; public is the database's own tables.
func (t *translator) rangeVar(rv *pg.RangeVar, withAlias bool) string {
	var s string
	schema := strings.ToLower(rv.Schemaname)
	switch {
	case schema == "pg_catalog" || (schema == "" && catalogRelations[rv.Relname] != ""):
		def, ok := catalogRelations[rv.Relname]
		if !ok {
			t.unsupported("pg_catalog." + rv.Relname)
		}
		alias := rv.Relname
		if rv.Alias != nil {
			alias = rv.Alias.Aliasname
		}
		if !withAlias {
			t.unsupported("writing to pg_catalog." + rv.Relname)
		}
		return "(" + def + ") AS " + quoteIdent(alias)
	case schema == "information_schema":
		s = "information_schema." + quoteIdent(rv.Relname)
	case schema == "" || schema == "public":
		s = quoteIdent(rv.Relname)
		if rv.Catalogname != "" {
			s = quoteIdent(rv.Catalogname) + "." + s
		}
	default:
		// A schema name other than public names a database, so that
		// schema-qualified names from other tools keep working.
		s = quoteIdent(schema) + "." + quoteIdent(rv.Relname)
	}
	if withAlias && rv.Alias != nil {
		s += " AS " + quoteIdent(rv.Alias.Aliasname)
		if len(rv.Alias.Colnames) > 0 {
			t.unsupported("column aliases on a table")
		}
	}
	return s
}

func (t *translator) rangeFunction(rf *pg.RangeFunction) string {
	if len(rf.Functions) != 1 || rf.Lateral || rf.Ordinality {
		t.unsupported("this table function form")
	}
	fc := rf.Functions[0].GetList().Items[0].GetFuncCall()
	if fc == nil || funcName(fc) != "generate_series" || len(fc.Args) < 2 {
		t.unsupported("table functions other than generate_series(a, b)")
	}
	alias := "generate_series"
	col := "generate_series"
	if rf.Alias != nil {
		alias = rf.Alias.Aliasname
		col = alias
		if len(rf.Alias.Colnames) > 0 {
			col = stringList(rf.Alias.Colnames)[0]
		}
	}
	step := "1"
	if len(fc.Args) > 2 {
		step = t.expr(fc.Args[2])
	}
	// Two recursive CTEs of at most 10,000 rows each (the engine's
	// recursion limit), crossed: up to 10^8 values.
	start, stop := t.expr(fc.Args[0]), t.expr(fc.Args[1])
	last := fmt.Sprintf("CAST(FLOOR(((%s) - (%s)) / (%s)) AS SIGNED)", stop, start, step)
	return fmt.Sprintf("(WITH RECURSIVE gs_lo (v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM gs_lo WHERE v < LEAST(9999, %[1]s)),"+
		" gs_hi (v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM gs_hi WHERE v < FLOOR(%[1]s / 10000))"+
		" SELECT (%[2]s) + (gs_hi.v * 10000 + gs_lo.v) * (%[3]s) AS %[4]s FROM gs_hi, gs_lo WHERE gs_hi.v * 10000 + gs_lo.v <= %[1]s) AS %[5]s",
		last, start, step, quoteIdent(col), quoteIdent(alias))
}

func stringList(ns []*pg.Node) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		if s := n.GetString_(); s != nil {
			out = append(out, s.Sval)
		}
	}
	return out
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func joinIdents(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteIdent(n)
	}
	return strings.Join(q, ", ")
}

// quoteString writes a string literal the engine reads back exactly:
// PostgreSQL strings are standard-conforming, so a backslash is itself.
func quoteString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `''`, "\x00", `\0`)
	return "'" + r.Replace(s) + "'"
}
