package engine

import (
	"slices"
	"strings"
	"sync/atomic"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/cofferdb/coffer/sql/catalog"
	"github.com/cofferdb/coffer/sql/txn"
)

// Prepared primary-key range selects skip the analyzer too (see
// PointSelect). A statement of the shape
//
//	SELECT [DISTINCT] col, … | * FROM [db.]table [[AS] alias]
//	WHERE pk BETWEEN ? AND ? [ORDER BY col [ASC|DESC]]
//	SELECT SUM(col) FROM … WHERE pk BETWEEN ? AND ?
//
// on a table whose primary key is one integer column reads the rows of
// one key range — sysbench's range queries. ExecRangeSelect answers it as
// the analyzed plan would: rows in key order (an index range scan), or
// stably sorted by the ORDER BY column with the column type's own
// comparison (go-mysql-server's sort is stable), DISTINCT keeping the
// first of equal rows, SUM of an integer column as a DOUBLE (NULL over no
// rows), as go-mysql-server sums. It declines (the ordinary path then runs) whenever
// that could differ: an ORDER BY or DISTINCT column that may be NULL,
// DISTINCT on anything but one column compared byte for byte (integers,
// binary strings, utf8mb4_0900_bin), and everything PointSelect declines.
type RangeSelect struct {
	sel      *PointSelect // table, alias, columns; terms unused
	from, to string       // BETWEEN parameters
	key      string       // the BETWEEN column
	distinct bool
	order    string // ORDER BY column ("" none)
	desc     bool
	sum      string // SUM's column ("" none: the select list is sel's)
	sumName  string // the SUM expression as written: the column's name
	plan     atomic.Pointer[rangePlan]
}

// rangePlan is what a RangeSelect needs of one table definition.
type rangePlan struct {
	version any
	proj    []int
	schema  gmssql.Schema
	keyType gmssql.Type
	order   int // schema ordinal of the ORDER BY column, -1 none
	// orderType is the ORDER BY column's type.
	orderType gmssql.Type
	sum       int    // schema ordinal of SUM's column, -1 none
	need      []bool // the columns the statement reads, by schema ordinal
	// table is the table's schema; wire the plan's wire form (nil: none).
	table gmssql.Schema
	wire  *wirePlan
}

// ParseRangeSelect returns query as a RangeSelect, or nil when it does
// not have the shape.
func ParseRangeSelect(query string) *RangeSelect {
	stmt, err := sqlparser.Parse(query)
	if err != nil {
		return nil
	}
	return rangeSelectOf(stmt)
}

func rangeSelectOf(stmt sqlparser.Statement) *RangeSelect {
	sel, ok := stmt.(*sqlparser.Select)
	if !ok || sel.Where == nil || len(sel.OrderBy) > 1 {
		return nil
	}
	rs := &RangeSelect{distinct: sel.QueryOpts.Distinct}
	// The point-select parser checks everything but the WHERE clause,
	// DISTINCT, ORDER BY and SUM: give it the statement without them.
	bare := *sel
	bare.QueryOpts, bare.OrderBy = sqlparser.QueryOpts{}, nil
	var sumArg sqlparser.Expr
	if len(sel.SelectExprs) == 1 {
		if ae, ok := sel.SelectExprs[0].(*sqlparser.AliasedExpr); ok && (ae.InputExpression != "" || !ae.As.IsEmpty()) {
			if f, ok := ae.Expr.(*sqlparser.FuncExpr); ok && f.Name.EqualString("sum") && f.Qualifier.IsEmpty() &&
				!f.Distinct && f.Over == nil && len(f.Exprs) == 1 {
				arg, ok := f.Exprs[0].(*sqlparser.AliasedExpr)
				if !ok || len(sel.OrderBy) > 0 || sel.QueryOpts.Distinct {
					return nil
				}
				sumArg, rs.sumName = arg.Expr, ae.InputExpression
				if !ae.As.IsEmpty() {
					rs.sumName = ae.As.String()
				}
				bare.SelectExprs = sqlparser.SelectExprs{&sqlparser.StarExpr{}}
			}
		}
	}
	bare.Where = &sqlparser.Where{Type: sqlparser.WhereStr, Expr: &sqlparser.ComparisonExpr{
		Operator: sqlparser.EqualStr,
		Left:     &sqlparser.ColName{Name: sqlparser.NewColIdent("x")},
		Right:    sqlparser.NewValArg([]byte(":v0")),
	}}
	ps := pointSelectOf(&bare)
	if ps == nil || sel.QueryOpts.All || sel.QueryOpts.StraightJoinHint || sel.QueryOpts.SQLCalcFoundRows ||
		sel.QueryOpts.SQLCache || sel.QueryOpts.SQLNoCache {
		return nil
	}
	ps.terms = nil
	rs.sel = ps
	column := columnOf(ps.ref, ps.db, ps.aliased)
	where := sel.Where.Expr
	for {
		p, ok := where.(*sqlparser.ParenExpr)
		if !ok {
			break
		}
		where = p.Expr
	}
	rc, ok := where.(*sqlparser.RangeCond)
	if !ok || rc.Operator != sqlparser.BetweenStr {
		return nil
	}
	if rs.key, ok = column(rc.Left); !ok {
		return nil
	}
	if sumArg != nil {
		if rs.sum, ok = column(sumArg); !ok {
			return nil
		}
	}
	if rs.from, ok = paramName(rc.From); !ok {
		return nil
	}
	if rs.to, ok = paramName(rc.To); !ok {
		return nil
	}
	if len(sel.OrderBy) == 1 {
		o := sel.OrderBy[0]
		if rs.order, ok = column(o.Expr); !ok {
			return nil
		}
		rs.desc = o.Direction == sqlparser.DescScr
	}
	if rs.distinct && (ps.star || len(ps.cols) != 1 || rs.order != "" && !strings.EqualFold(rs.order, ps.cols[0])) {
		return nil
	}
	return rs
}

// RangeResult is the answer of a range select: Rows, or for
// ExecRangeSelectWire possibly Values instead.
type RangeResult struct {
	Schema gmssql.Schema
	Rows   []gmssql.Row
	// Values are the rows as MySQL wire values, as go-mysql-server's
	// RowToSQL makes them of Rows (wirerows.go). They are valid until
	// Release.
	Values  [][]sqltypes.Value
	Version any // as PointResult.Version
	bufs    *wireBufs
}

// Release gives the buffers of Values back for reuse; the result must
// not be used after it.
func (r *RangeResult) Release() {
	if r.bufs != nil {
		r.bufs.release()
		r.bufs, r.Values = nil, nil
	}
}

// ExecRangeSelect runs rs for ctx's session; arg and handled are as for
// ExecPointSelect.
func (e *Engine) ExecRangeSelect(ctx *gmssql.Context, rs *RangeSelect, arg func(name string) (any, bool)) (res RangeResult, handled bool, err error) {
	return e.execRangeSelect(ctx, rs, arg, false)
}

// ExecRangeSelectWire is ExecRangeSelect for the MySQL wire: it answers
// with Values rather than Rows when the statement's columns allow.
func (e *Engine) ExecRangeSelectWire(ctx *gmssql.Context, rs *RangeSelect, arg func(name string) (any, bool)) (res RangeResult, handled bool, err error) {
	return e.execRangeSelect(ctx, rs, arg, true)
}

func (e *Engine) execRangeSelect(ctx *gmssql.Context, rs *RangeSelect, arg func(name string) (any, bool), wire bool) (res RangeResult, handled bool, err error) {
	defer func() {
		if handled {
			e.fast.hits.Add(1)
		}
	}()
	if ok, _ := gmssql.HasDefaultValue(ctx, ctx.Session, "sql_select_limit"); !ok {
		return res, false, nil
	}
	st, ok, err := e.beginFast(ctx, rs.sel.db, rs.sel.table, gmssql.PrivilegeType_Select, false)
	if !ok {
		return res, err != nil, err
	}
	defer func() { st.endRead(ctx, handled, &err) }()
	t, err := e.Provider.StoredTable(ctx, st.db, rs.sel.table)
	if err != nil || t == nil || !t.PointReadable() {
		return res, false, nil
	}
	p := rs.planFor(t)
	if p == nil {
		return res, false, nil
	}
	var bounds [2]any
	for i, name := range []string{rs.from, rs.to} {
		v, ok := arg(name)
		if !ok {
			return res, false, nil
		}
		kv, inRange, err := p.keyType.Convert(ctx, v)
		if err != nil || inRange != gmssql.InRange {
			return res, false, nil
		}
		bounds[i] = kv
	}
	ctx.ClearWarnings()
	st.sess.CountStatement(txn.StatSelect)
	if wire && p.wire != nil {
		b, err := p.scanWire(ctx, t, bounds[0], bounds[1], rs)
		if err == nil {
			ctx.SetLastQueryInfoInt(gmssql.RowCount, -1)
			ctx.SetLastQueryInfoInt(gmssql.FoundRows, int64(len(b.out)))
			return RangeResult{Schema: p.schema, Values: b.out, Version: p.version, bufs: b}, true, nil
		}
		if err != errNotInPlace {
			return res, true, err
		}
	}
	if p.sum >= 0 {
		if sum, err := p.sumEncoded(ctx, t, bounds[0], bounds[1]); err != errNotInPlace {
			if err != nil {
				return res, true, err
			}
			ctx.SetLastQueryInfoInt(gmssql.RowCount, -1)
			ctx.SetLastQueryInfoInt(gmssql.FoundRows, 1)
			return RangeResult{Schema: p.schema, Rows: []gmssql.Row{{sum}}, Version: p.version}, true, nil
		}
	}
	var rows []gmssql.Row
	err = t.ScanKeyRange(ctx, bounds[0], bounds[1], p.need, func(r gmssql.Row) error {
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		return res, true, err
	}
	if p.sum >= 0 {
		return p.sumOf(ctx, rows), true, nil
	}
	if p.order >= 0 {
		if rows, err = p.sort(ctx, rows, rs.desc); err != nil {
			return res, true, err
		}
	}
	out := make([]gmssql.Row, 0, len(rows))
	for _, r := range rows {
		pr := make(gmssql.Row, len(p.proj))
		for i, o := range p.proj {
			pr[i] = r[o]
		}
		if rs.distinct {
			if dup, err := p.duplicate(ctx, out, pr[0]); err != nil {
				return res, true, err
			} else if dup {
				continue
			}
		}
		out = append(out, pr)
	}
	ctx.SetLastQueryInfoInt(gmssql.RowCount, -1)
	ctx.SetLastQueryInfoInt(gmssql.FoundRows, int64(len(out)))
	return RangeResult{Schema: p.schema, Rows: out, Version: p.version}, true, nil
}

// sumOf answers SUM over rows: a float64, as go-mysql-server's sum
// buffer adds integers, and NULL when no row has a value.
func (p *rangePlan) sumOf(ctx *gmssql.Context, rows []gmssql.Row) RangeResult {
	var sum any
	for _, r := range rows {
		v := r[p.sum]
		if v == nil {
			continue
		}
		f, _, err := types.Float64.Convert(ctx, v)
		if err != nil {
			f = float64(0)
		}
		if sum == nil {
			sum = float64(0)
		}
		sum = sum.(float64) + f.(float64)
	}
	ctx.SetLastQueryInfoInt(gmssql.RowCount, -1)
	ctx.SetLastQueryInfoInt(gmssql.FoundRows, 1)
	return RangeResult{Schema: p.schema, Rows: []gmssql.Row{{sum}}, Version: p.version}
}

// sumEncoded is sumOf over the stored rows of [lo, hi], reading the
// integer column in place; errNotInPlace when a stored value is not the
// integer the column's type makes (sumOf then answers from decoded rows).
func (p *rangePlan) sumEncoded(ctx *gmssql.Context, t *catalog.Table, lo, hi any) (any, error) {
	cols := make([]catalog.Column, len(p.need))
	unsigned := types.IsUnsigned(p.table[p.sum].Type)
	var sum float64
	some := false
	err := t.ScanKeyRangeEncoded(ctx, lo, hi, func(enc []byte) error {
		if err := catalog.RowColumns(enc, p.need, cols); err != nil {
			return err
		}
		c := cols[p.sum]
		if c.IsNull() {
			return nil
		}
		if unsigned {
			v, ok := c.Uint()
			if !ok {
				return errNotInPlace
			}
			sum += float64(v)
		} else {
			v, ok := c.Int()
			if !ok {
				return errNotInPlace
			}
			sum += float64(v)
		}
		some = true
		return nil
	})
	if err != nil || !some {
		return nil, err
	}
	return sum, nil
}

// duplicate reports whether v equals a value DISTINCT already kept: the
// last one when the rows are sorted on it (equal values are adjacent),
// else any of them (DISTINCT without ORDER BY keeps the first of equal
// values, in key order).
func (p *rangePlan) duplicate(ctx *gmssql.Context, out []gmssql.Row, v any) (bool, error) {
	typ := p.schema[0].Type
	if p.order >= 0 {
		if len(out) == 0 {
			return false, nil
		}
		c, err := typ.Compare(ctx, out[len(out)-1][0], v)
		return err == nil && c == 0, err
	}
	for _, r := range out {
		if c, err := typ.Compare(ctx, r[0], v); err == nil && c == 0 {
			return true, nil
		}
	}
	return false, nil
}

// sort orders rows stably on the ORDER BY column, as go-mysql-server's
// sort does (the column is NOT NULL: see planFor).
func (p *rangePlan) sort(ctx *gmssql.Context, rows []gmssql.Row, desc bool) ([]gmssql.Row, error) {
	typ, o := p.orderType, p.order
	var cerr error
	slices.SortStableFunc(rows, func(x, y gmssql.Row) int {
		a, b := x[o], y[o]
		if desc {
			a, b = b, a
		}
		c, err := typ.Compare(ctx, a, b)
		if err != nil && cerr == nil {
			cerr = err
		}
		return c
	})
	return rows, cerr
}

// planFor returns rs's plan for t's definition, or nil when rs cannot
// run on it by this path.
func (rs *RangeSelect) planFor(t *catalog.Table) *rangePlan {
	if p := rs.plan.Load(); p != nil && p.version == t.Version() {
		return p
	}
	sch := t.Schema()
	pk := t.PrimaryKeyOrdinals()
	if len(pk) != 1 || sch.IndexOfColName(rs.key) != pk[0] || !types.IsInteger(sch[pk[0]].Type) {
		return nil
	}
	p := &rangePlan{version: t.Version(), keyType: sch[pk[0]].Type, order: -1, sum: -1}
	if rs.sum != "" {
		// As the analyzer describes SUM: a DOUBLE named as written.
		if p.sum = sch.IndexOfColName(rs.sum); p.sum < 0 || !types.IsInteger(sch[p.sum].Type) {
			return nil
		}
		p.schema = gmssql.Schema{{Name: rs.sumName, Type: types.Float64}}
		p.need = make([]bool, len(sch))
		p.need[p.sum] = true
		p.table = sch
		rs.plan.Store(p)
		return p
	}
	var ok bool
	if p.proj, p.schema, ok = rs.sel.projection(sch); !ok {
		return nil
	}
	if rs.order != "" {
		if p.order = sch.IndexOfColName(rs.order); p.order < 0 || sch[p.order].Nullable {
			return nil
		}
		p.orderType = sch[p.order].Type
	}
	if rs.distinct {
		c := sch[p.proj[0]]
		if c.Nullable || !byteComparable(c.Type) {
			return nil
		}
	}
	p.need = make([]bool, len(sch))
	for _, o := range p.proj {
		p.need[o] = true
	}
	if p.order >= 0 {
		p.need[p.order] = true
	}
	p.table, p.wire = sch, wirePlanOf(p, sch)
	rs.plan.Store(p)
	return p
}

// byteComparable reports whether two values of typ compare equal exactly
// when they are the same value (no collation folds two into one).
func byteComparable(typ gmssql.Type) bool {
	if types.IsInteger(typ) {
		return true
	}
	st, ok := typ.(gmssql.StringType)
	if !ok {
		return false
	}
	switch st.Collation() {
	case gmssql.Collation_binary, gmssql.Collation_utf8mb4_0900_bin:
		return true
	}
	return false
}
