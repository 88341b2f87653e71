package engine

import (
	"strings"
	"sync/atomic"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/cofferdb/coffer/sql/catalog"
	"github.com/cofferdb/coffer/sql/txn"
)

// Prepared point selects skip the analyzer. go-mysql-server binds,
// builds and analyzes a prepared statement again on every execution —
// for `SELECT c FROM t WHERE id = ?` about half of the server's CPU, more
// than the read itself (docs/design/architecture.md, "Fast paths"). A
// statement of the shape
//
//	SELECT col, … | * FROM [db.]table [[AS] alias] WHERE pk1 = ? [AND pk2 = ? …]
//
// whose WHERE names every primary key column once, with nothing else
// (no DISTINCT, GROUP BY, ORDER BY, LIMIT, locking clause, AS OF, hints or
// comments), reads at most one row. ExecPointSelect answers it with what
// the analyzed plan would do: the same transaction rules, the same
// privilege check, the same row policies (catalog.Table.GetRow applies
// them) and the table's own column types. Whenever an execution is not
// plainly such a read — a view or a system table, a parameter that is not
// an integer of the key column's type, a table with virtual columns, a
// session setting that changes the plan, a missing privilege — it reports
// handled=false and the caller runs the statement the ordinary way, which
// then gives the answer or the error.
type PointSelect struct {
	db, table string // db "" = the session's current database
	ref       string // the table's alias, or its name as written
	aliased   bool
	star      bool
	cols      []string    // selected columns, as written
	terms     []pointTerm // WHERE col = ? terms, as written
	plan      atomic.Pointer[pointPlan]
}

type pointTerm struct{ col, param string }

// pointPlan is what a PointSelect needs of one table definition.
type pointPlan struct {
	version any
	proj    []int // schema ordinal of each output column
	keyPlan
	schema gmssql.Schema // output columns
}

// keyPlan reads a table's whole integer primary key from parameters.
type keyPlan struct {
	keyArg  []string      // parameter of each primary key column, in key order
	keyType []gmssql.Type // type of each primary key column
}

// keyPlanFor maps terms to t's primary key; ok=false unless they name
// every primary key column once and the key's columns are integers.
func keyPlanFor(t *catalog.Table, terms []pointTerm) (kp keyPlan, ok bool) {
	sch := t.Schema()
	pk := t.PrimaryKeyOrdinals()
	if len(pk) == 0 || len(terms) != len(pk) {
		return kp, false
	}
	kp.keyArg = make([]string, len(pk))
	for _, term := range terms {
		o := sch.IndexOfColName(term.col)
		i := indexOf(pk, o)
		if i < 0 || kp.keyArg[i] != "" {
			return kp, false
		}
		kp.keyArg[i] = term.param
	}
	for _, o := range pk {
		if !types.IsInteger(sch[o].Type) {
			return kp, false
		}
		kp.keyType = append(kp.keyType, sch[o].Type)
	}
	return kp, true
}

// bind returns the key the parameters give, converted to the key
// columns' types; ok=false when a parameter is missing, not an integer
// (arg's answer) or out of its column's range.
func (kp *keyPlan) bind(ctx *gmssql.Context, arg func(name string) (any, bool)) ([]any, bool) {
	key := make([]any, len(kp.keyArg))
	for i, name := range kp.keyArg {
		v, ok := arg(name)
		if !ok {
			return nil, false
		}
		kv, ok := convertExact(ctx, kp.keyType[i], v)
		if !ok {
			return nil, false
		}
		key[i] = kv
	}
	return key, true
}

// ParsePointSelect returns query as a PointSelect, or nil when it does not
// have the shape (see PointSelect).
func ParsePointSelect(query string) *PointSelect {
	stmt, err := sqlparser.Parse(query)
	if err != nil {
		return nil
	}
	return pointSelectOf(stmt)
}

func pointSelectOf(stmt sqlparser.Statement) *PointSelect {
	sel, ok := stmt.(*sqlparser.Select)
	if !ok || len(sel.Comments) > 0 || sel.QueryOpts != (sqlparser.QueryOpts{}) || sel.With != nil ||
		sel.Where == nil || len(sel.GroupBy) > 0 || sel.Having != nil || len(sel.Window) > 0 ||
		len(sel.OrderBy) > 0 || sel.Limit != nil || sel.Lock != "" || sel.Into != nil || len(sel.From) != 1 {
		return nil
	}
	from, ok := sel.From[0].(*sqlparser.AliasedTableExpr)
	if !ok || len(from.Partitions) > 0 || from.Hints != nil || from.AsOf != nil || from.Lateral {
		return nil
	}
	tn, ok := from.Expr.(sqlparser.TableName)
	if !ok || !tn.SchemaQualifier.IsEmpty() {
		return nil
	}
	ps := &PointSelect{db: tn.DbQualifier.String(), table: tn.Name.String()}
	// Column qualifiers must name the table as the statement calls it.
	ps.ref = tn.Name.String()
	if !from.As.IsEmpty() {
		ps.ref, ps.aliased = from.As.String(), true
	}
	column := columnOf(ps.ref, ps.db, ps.aliased)
	for _, se := range sel.SelectExprs {
		switch e := se.(type) {
		case *sqlparser.StarExpr:
			if !e.TableName.IsEmpty() || len(sel.SelectExprs) != 1 {
				return nil
			}
			ps.star = true
		case *sqlparser.AliasedExpr:
			name, ok := column(e.Expr)
			if !ok || !e.As.IsEmpty() {
				return nil
			}
			ps.cols = append(ps.cols, name)
		default:
			return nil
		}
	}
	if !keyTerms(sel.Where.Expr, column, &ps.terms) {
		return nil
	}
	return ps
}

// columnOf returns what reads a column reference of a statement on one
// table, which the statement calls ref (its alias, or its name as
// written) in database db: the column's name, ok=false for anything else
// (a qualifier naming another table, a procedure variable).
func columnOf(ref, db string, aliased bool) func(sqlparser.Expr) (string, bool) {
	return func(e sqlparser.Expr) (string, bool) {
		c, ok := e.(*sqlparser.ColName)
		if !ok || c.StoredProcVal != nil || !c.Qualifier.SchemaQualifier.IsEmpty() {
			return "", false
		}
		if q := c.Qualifier; !q.IsEmpty() {
			if !strings.EqualFold(q.Name.String(), ref) ||
				!q.DbQualifier.IsEmpty() && (aliased || !strings.EqualFold(q.DbQualifier.String(), db)) {
				return "", false
			}
		}
		return c.Name.String(), true
	}
}

// keyTerms collects into terms the `col = ?` terms of a WHERE clause
// that is nothing but such terms joined by AND.
func keyTerms(e sqlparser.Expr, column func(sqlparser.Expr) (string, bool), terms *[]pointTerm) bool {
	switch e := e.(type) {
	case *sqlparser.AndExpr:
		return keyTerms(e.Left, column, terms) && keyTerms(e.Right, column, terms)
	case *sqlparser.ComparisonExpr:
		if e.Operator != sqlparser.EqualStr || e.Escape != nil {
			return false
		}
		l, r := e.Left, e.Right
		if _, ok := l.(*sqlparser.SQLVal); ok {
			l, r = r, l
		}
		name, ok := column(l)
		param, isParam := paramName(r)
		if !ok || !isParam {
			return false
		}
		*terms = append(*terms, pointTerm{col: name, param: param})
		return true
	case *sqlparser.ParenExpr:
		return keyTerms(e.Expr, column, terms)
	}
	return false
}

// paramName returns the name of the parameter e is (`?` parses as :v1,
// :v2, …).
func paramName(e sqlparser.Expr) (string, bool) {
	v, ok := e.(*sqlparser.SQLVal)
	if !ok || v.Type != sqlparser.ValArg || len(v.Val) < 2 || v.Val[0] != ':' {
		return "", false
	}
	return string(v.Val[1:]), true
}

// PointResult is the answer of a point select.
type PointResult struct {
	// Schema describes the output columns.
	Schema gmssql.Schema
	// Row is the row read, or nil when there is none.
	Row gmssql.Row
	// Version identifies the table definition Schema comes from; it
	// changes when the table (or anything else in the catalog) changes.
	Version any
}

// ExecPointSelect runs ps for ctx's session. arg returns a parameter's
// bound value as an int64 or uint64 (ok=false for any other value).
// handled=false means the ordinary path must run the statement (see
// PointSelect); ctx and the session are then as they were.
func (e *Engine) ExecPointSelect(ctx *gmssql.Context, ps *PointSelect, arg func(name string) (any, bool)) (res PointResult, handled bool, err error) {
	defer func() {
		if handled {
			e.fast.hits.Add(1)
		}
	}()
	if ok, _ := gmssql.HasDefaultValue(ctx, ctx.Session, "sql_select_limit"); !ok {
		return res, false, nil
	}
	st, ok, err := e.beginFast(ctx, ps.db, ps.table, gmssql.PrivilegeType_Select, false)
	if !ok {
		return res, err != nil, err
	}
	defer func() { st.endRead(ctx, handled, &err) }()
	t, err := e.Provider.StoredTable(ctx, st.db, ps.table)
	if err != nil || t == nil || !t.PointReadable() {
		return res, false, nil
	}
	p := ps.planFor(t)
	if p == nil {
		return res, false, nil
	}
	key, ok := p.bind(ctx, arg)
	if !ok {
		return res, false, nil
	}
	ctx.ClearWarnings()
	st.sess.CountStatement(txn.StatSelect)
	row, err := t.GetRow(ctx, key...)
	if err != nil {
		return res, true, err
	}
	res = PointResult{Schema: p.schema, Version: p.version}
	found := int64(0)
	if row != nil {
		found = 1
		res.Row = make(gmssql.Row, len(p.proj))
		for i, o := range p.proj {
			res.Row[i] = row[o]
		}
	}
	ctx.SetLastQueryInfoInt(gmssql.RowCount, -1)
	ctx.SetLastQueryInfoInt(gmssql.FoundRows, found)
	return res, true, nil
}

// planFor returns ps's plan for t's definition, or nil when ps does not
// read t by its whole primary key through integer columns.
func (ps *PointSelect) planFor(t *catalog.Table) *pointPlan {
	if p := ps.plan.Load(); p != nil && p.version == t.Version() {
		return p
	}
	sch := t.Schema()
	p := &pointPlan{version: t.Version()}
	var ok bool
	if p.proj, p.schema, ok = ps.projection(sch); !ok {
		return nil
	}
	if p.keyPlan, ok = keyPlanFor(t, ps.terms); !ok {
		return nil
	}
	ps.plan.Store(p)
	return p
}

// projection returns the schema ordinals and the output columns of ps's
// select list on a table of schema sch, described as go-mysql-server's
// projection describes them: named as the statement wrote them, from the
// table as the statement calls it (lower case), without key flags.
func (ps *PointSelect) projection(sch gmssql.Schema) (proj []int, out gmssql.Schema, ok bool) {
	if ps.star {
		for i := range sch {
			proj = append(proj, i)
		}
	}
	for _, c := range ps.cols {
		o := sch.IndexOfColName(c)
		if o < 0 {
			return nil, nil, false
		}
		proj = append(proj, o)
	}
	source := strings.ToLower(ps.ref)
	for i, o := range proj {
		c := *sch[o]
		if !ps.star {
			c.Name, c.Source, c.PrimaryKey, c.AutoIncrement = ps.cols[i], source, false, false
		} else if ps.aliased {
			c.Source = source
		}
		out = append(out, &c)
	}
	return proj, out, true
}

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// fastStatement is what a fast path settles before it reads or writes.
type fastStatement struct {
	sess       *txn.Session
	db         string // the statement's database
	autocommit bool
	tx         gmssql.Transaction
	started    bool // the statement opened tx
}

// beginFast checks what the two fast paths have in common — a Coffer
// session, a database, a transaction state the statement leaves as it found
// it (or ends, in autocommit), priv on db.table, and for writes a writable
// server and transaction — and opens the statement's transaction if none
// is open. ok=false with a nil error declines, with nothing changed; a
// non-nil error is the statement's.
func (e *Engine) beginFast(ctx *gmssql.Context, db, table string, priv gmssql.PrivilegeType, write bool) (st fastStatement, ok bool, err error) {
	sess, isCoffer := ctx.Session.(*txn.Session)
	if !isCoffer || write && e.IsReadOnly() {
		return st, false, nil
	}
	if db == "" {
		if db = ctx.GetCurrentDatabase(); db == "" {
			return st, false, nil
		}
	}
	autocommit, err := sess.Autocommit(ctx)
	if err != nil {
		return st, false, nil
	}
	tx := ctx.GetTransaction()
	if tx == nil && !autocommit || write && tx != nil && tx.IsReadOnly() {
		// The statement would open a transaction that outlives it, or
		// write in a read-only one.
		return st, false, nil
	}
	if !e.Analyzer.Catalog.MySQLDb.UserHasPrivileges(ctx, gmssql.NewPrivilegedOperation(
		gmssql.PrivilegeCheckSubject{Database: db, Table: table}, priv)) {
		return st, false, nil
	}
	st = fastStatement{sess: sess, db: db, autocommit: autocommit, tx: tx}
	if tx == nil {
		if st.tx, err = sess.StartTransaction(ctx, gmssql.ReadWrite); err != nil {
			return st, false, err
		}
		ctx.SetTransaction(st.tx)
		st.started = true
	}
	return st, true, nil
}

// endRead ends a fast read statement: one answered in autocommit commits
// its transaction, as go-mysql-server's TransactionCommittingIter does
// (a commit error becomes the statement's); one declined leaves no
// transaction it opened.
func (st *fastStatement) endRead(ctx *gmssql.Context, handled bool, err *error) {
	switch {
	case handled && st.autocommit && !ctx.GetIgnoreAutoCommit():
		if cerr := st.sess.CommitTransaction(ctx, st.tx); cerr != nil && *err == nil {
			*err = cerr
		}
		ctx.SetTransaction(nil)
	case !handled && st.started:
		ctx.SetTransaction(nil)
	}
}

// endWrite ends a fast write statement, which commits itself:
// one declined leaves no transaction it opened; one that failed discarded
// its writes, so the autocommit transaction it ends (endsWithStatement)
// ends with nothing to commit.
func (st *fastStatement) endWrite(ctx *gmssql.Context, handled, endsWithStatement bool, err error) {
	switch {
	case !handled && st.started:
		ctx.SetTransaction(nil)
	case handled && err != nil && endsWithStatement:
		ctx.SetTransaction(nil)
	}
}
