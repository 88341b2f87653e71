package pgwire

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// Result column types. The engine has no int2/int4 casts (the translation
// of x::int is CAST(x AS SIGNED), a bigint), widens integer arithmetic to
// bigint and types small literals as tinyint. PostgreSQL keeps int2 and
// int4, and drivers pick host types by the OID: node-postgres returns
// int8 as a string and int4 as a number, pgx refuses to scan int8 into an
// int32. So the translator infers the PostgreSQL integer type of each
// select item from the parse tree where it can (casts, constants,
// arithmetic and functions over integer columns), and the wire reports
// that type and converts the values, range-checked as PostgreSQL does
// (22003). Where nothing is inferred the engine's type stands: a bare
// column is reported as declared (INTEGER is int4, SMALLINT int2).

// intRank orders PostgreSQL's integer types by width; 0 is not one.
func intRank(oid uint32) int {
	switch oid {
	case oidInt2:
		return 1
	case oidInt4:
		return 2
	case oidInt8:
		return 3
	}
	return 0
}

// widerInt is the type of an operator over two integer types, 0 when
// either is unknown.
func widerInt(a, b uint32) uint32 {
	if intRank(a) == 0 || intRank(b) == 0 {
		return 0
	}
	if intRank(a) >= intRank(b) {
		return a
	}
	return b
}

// typeScope is what column references in one SELECT can name: its FROM
// tables (by alias) and derived tables, and the WITH queries around it.
type typeScope struct {
	tables  map[string]string         // alias or name → table
	derived map[string]*pg.SelectStmt // alias or CTE name → query
	order   []string                  // aliases in FROM order
	outer   *typeScope
}

func (t *translator) newTypeScope(s *pg.SelectStmt, outer *typeScope) *typeScope {
	sc := &typeScope{tables: map[string]string{}, derived: map[string]*pg.SelectStmt{}, outer: outer}
	if s.WithClause != nil && !s.WithClause.Recursive {
		for _, c := range s.WithClause.Ctes {
			cte := c.GetCommonTableExpr()
			if cte != nil && len(cte.Aliascolnames) == 0 && cte.Ctequery.GetSelectStmt() != nil {
				sc.derived[cte.Ctename] = cte.Ctequery.GetSelectStmt()
			}
		}
	}
	var add func(n *pg.Node)
	add = func(n *pg.Node) {
		switch {
		case n.GetRangeVar() != nil:
			rv := n.GetRangeVar()
			alias := rv.Relname
			if rv.Alias != nil {
				alias = rv.Alias.Aliasname
			}
			sc.order = append(sc.order, alias)
			if q := sc.cte(rv.Relname); q != nil && rv.Schemaname == "" {
				sc.derived[alias] = q
				return
			}
			if strings.EqualFold(rv.Schemaname, "") || strings.EqualFold(rv.Schemaname, "public") {
				sc.tables[alias] = rv.Relname
			}
		case n.GetJoinExpr() != nil:
			add(n.GetJoinExpr().Larg)
			add(n.GetJoinExpr().Rarg)
		case n.GetRangeSubselect() != nil:
			rs := n.GetRangeSubselect()
			if rs.Alias != nil && len(rs.Alias.Colnames) == 0 && rs.Subquery.GetSelectStmt() != nil {
				sc.order = append(sc.order, rs.Alias.Aliasname)
				sc.derived[rs.Alias.Aliasname] = rs.Subquery.GetSelectStmt()
			}
		}
	}
	for _, f := range s.FromClause {
		add(f)
	}
	return sc
}

// cte finds a WITH query by name in this scope or an enclosing one.
func (sc *typeScope) cte(name string) *pg.SelectStmt {
	for s := sc; s != nil; s = s.outer {
		if q, ok := s.derived[name]; ok {
			return q
		}
	}
	return nil
}

// selectResultTypes infers the PostgreSQL integer type of each output
// column of s (0: the engine's type stands). It stops at a *, after which
// positions are unknown. Nil when nothing is inferred.
func (t *translator) selectResultTypes(s *pg.SelectStmt, outer *typeScope) []uint32 {
	if s == nil {
		return nil
	}
	if s.Op != pg.SetOperation_SETOP_NONE {
		l := t.selectResultTypes(s.Larg, outer)
		r := t.selectResultTypes(s.Rarg, outer)
		n := min(len(l), len(r))
		out := make([]uint32, n)
		for i := range out {
			out[i] = widerInt(l[i], r[i])
		}
		return trimTypes(out)
	}
	sc := t.newTypeScope(s, outer)
	var out []uint32
	if len(s.ValuesLists) > 0 {
		for ri, row := range s.ValuesLists {
			for i, it := range row.GetList().Items {
				oid := t.intTypeOf(it, sc, false)
				switch {
				case ri == 0:
					out = append(out, oid)
				case i < len(out):
					out[i] = widerInt(out[i], oid)
				}
			}
		}
		return trimTypes(out)
	}
	for _, n := range s.TargetList {
		rt := n.GetResTarget()
		if rt == nil || isStar(rt.Val) {
			break
		}
		out = append(out, t.intTypeOf(rt.Val, sc, true))
	}
	return trimTypes(out)
}

// tableScope is the scope of an UPDATE or DELETE: its table.
func tableScope(rv *pg.RangeVar) *typeScope {
	alias := rv.Relname
	if rv.Alias != nil {
		alias = rv.Alias.Aliasname
	}
	return &typeScope{tables: map[string]string{alias: rv.Relname}, derived: map[string]*pg.SelectStmt{}, order: []string{alias}}
}

// returningTypes is selectResultTypes for a RETURNING list over table.
func (t *translator) returningTypes(table string, list []*pg.Node) []uint32 {
	sc := &typeScope{tables: map[string]string{table: table}, derived: map[string]*pg.SelectStmt{}, order: []string{table}}
	var out []uint32
	for _, n := range list {
		rt := n.GetResTarget()
		if rt == nil || isStar(rt.Val) {
			break
		}
		out = append(out, t.intTypeOf(rt.Val, sc, true))
	}
	return trimTypes(out)
}

func trimTypes(out []uint32) []uint32 {
	for _, oid := range out {
		if oid != 0 {
			return out
		}
	}
	return nil
}

func isStar(n *pg.Node) bool {
	cr := n.GetColumnRef()
	if cr == nil {
		return false
	}
	return cr.Fields[len(cr.Fields)-1].GetAStar() != nil
}

// intTypeOf is the PostgreSQL integer type of expression n, or 0 when it
// is not an integer or not known. top says n is a whole select item,
// where a table column needs no inference (the engine reports it as
// declared).
func (t *translator) intTypeOf(n *pg.Node, sc *typeScope, top bool) uint32 {
	switch {
	case n == nil:
		return 0
	case n.GetTypeCast() != nil:
		names := stringList(n.GetTypeCast().TypeName.Names)
		if len(names) == 0 || len(n.GetTypeCast().TypeName.ArrayBounds) > 0 {
			return 0
		}
		if oid := castOID(strings.ToLower(names[len(names)-1])); intRank(oid) > 0 {
			return oid
		}
	case n.GetAConst() != nil:
		c := n.GetAConst()
		if c.GetIval() != nil {
			return oidInt4
		}
		if c.GetFval() != nil {
			// PostgreSQL's parser makes an integer too wide for int4 a
			// float constant; it is int8 if it fits.
			if _, err := strconv.ParseInt(c.GetFval().Fval, 10, 64); err == nil {
				return oidInt8
			}
		}
	case n.GetColumnRef() != nil:
		return t.columnIntType(n.GetColumnRef(), sc, top)
	case n.GetAExpr() != nil:
		return t.aExprIntType(n.GetAExpr(), sc)
	case n.GetFuncCall() != nil:
		return t.funcIntType(n.GetFuncCall(), sc)
	case n.GetCoalesceExpr() != nil:
		return t.commonIntType(n.GetCoalesceExpr().Args, sc)
	case n.GetMinMaxExpr() != nil:
		return t.commonIntType(n.GetMinMaxExpr().Args, sc)
	case n.GetCaseExpr() != nil:
		ce := n.GetCaseExpr()
		var results []*pg.Node
		for _, w := range ce.Args {
			results = append(results, w.GetCaseWhen().Result)
		}
		if ce.Defresult != nil {
			results = append(results, ce.Defresult)
		}
		return t.commonIntType(results, sc)
	case n.GetSubLink() != nil:
		sl := n.GetSubLink()
		if sl.SubLinkType == pg.SubLinkType_EXPR_SUBLINK {
			if ts := t.selectResultTypes(sl.Subselect.GetSelectStmt(), sc); len(ts) > 0 {
				return ts[0]
			}
		}
	}
	return 0
}

func (t *translator) aExprIntType(a *pg.A_Expr, sc *typeScope) uint32 {
	switch a.Kind {
	case pg.A_Expr_Kind_AEXPR_NULLIF:
		return t.intTypeOf(a.Lexpr, sc, false)
	case pg.A_Expr_Kind_AEXPR_OP:
	default:
		return 0
	}
	names := stringList(a.Name)
	if len(names) != 1 {
		return 0
	}
	switch names[0] {
	case "+", "-", "*", "/", "%", "&", "|", "#", "<<", ">>", "~":
	default:
		return 0
	}
	if a.Lexpr == nil {
		return t.intTypeOf(a.Rexpr, sc, false)
	}
	l := t.intTypeOf(a.Lexpr, sc, false)
	if names[0] == "<<" || names[0] == ">>" {
		return l
	}
	return widerInt(l, t.intTypeOf(a.Rexpr, sc, false))
}

func (t *translator) funcIntType(f *pg.FuncCall, sc *typeScope) uint32 {
	switch funcName(f) {
	case "count", "row_number", "rank", "dense_rank":
		return oidInt8
	case "length", "char_length", "character_length", "octet_length", "bit_length", "strpos", "position", "ascii", "ntile":
		return oidInt4
	case "sum":
		if len(f.Args) == 1 {
			if oid := t.intTypeOf(f.Args[0], sc, false); oid == oidInt2 || oid == oidInt4 {
				return oidInt8
			}
		}
	case "min", "max", "abs":
		if len(f.Args) == 1 {
			return t.intTypeOf(f.Args[0], sc, false)
		}
	case "mod", "greatest", "least", "coalesce":
		return t.commonIntType(f.Args, sc)
	}
	return 0
}

// commonIntType is the type of an expression choosing among ns (CASE,
// COALESCE): the widest, when every one is an integer; NULLs do not count.
func (t *translator) commonIntType(ns []*pg.Node, sc *typeScope) uint32 {
	var out uint32
	for _, n := range ns {
		if c := n.GetAConst(); c != nil && c.Isnull {
			continue
		}
		oid := t.intTypeOf(n, sc, false)
		if out == 0 {
			out = oid
		} else {
			out = widerInt(out, oid)
		}
		if out == 0 {
			return 0
		}
	}
	return out
}

// columnIntType resolves a column reference against the scope: a derived
// table's column takes the type inferred for it, a table's column its
// declared type (not needed for a whole select item).
func (t *translator) columnIntType(cr *pg.ColumnRef, sc *typeScope, top bool) uint32 {
	f := stringList(cr.Fields)
	if len(f) != len(cr.Fields) || len(f) == 0 || len(f) > 2 {
		return 0
	}
	col := f[len(f)-1]
	if sc == nil || t.depth > maxTypeDepth {
		return 0
	}
	t.depth++
	defer func() { t.depth-- }()
	// Only this SELECT's FROM list: a reference to an enclosing query
	// (correlated) stays unknown, and a derived table's own columns
	// never resolve back into the query that names it.
	aliases := sc.order
	if len(f) == 2 {
		aliases = []string{f[0]}
	}
	for _, a := range aliases {
		if q, ok := sc.derived[a]; ok {
			if oid, found := t.outputColumnType(q, col, sc.outer); found {
				return oid
			}
			continue
		}
		table, ok := sc.tables[a]
		if !ok || top || t.lookup == nil {
			continue
		}
		if oid := t.lookup(table, col); oid != 0 {
			if intRank(oid) > 0 {
				return oid
			}
			return 0
		}
	}
	return 0
}

// maxTypeDepth bounds the nesting of derived tables inference follows.
const maxTypeDepth = 16

// outputColumnType finds column col among q's select items by name and
// infers its type (as an operand: a table column counts).
func (t *translator) outputColumnType(q *pg.SelectStmt, col string, outer *typeScope) (uint32, bool) {
	for q.Op != pg.SetOperation_SETOP_NONE {
		q = q.Larg
	}
	var sc *typeScope
	for _, n := range q.TargetList {
		rt := n.GetResTarget()
		if rt == nil || isStar(rt.Val) {
			return 0, false
		}
		name := rt.Name
		if name == "" {
			if cr := rt.Val.GetColumnRef(); cr != nil {
				if f := stringList(cr.Fields); len(f) > 0 {
					name = f[len(f)-1]
				}
			} else {
				name = impliedName(rt.Val)
			}
		}
		if name != col {
			continue
		}
		if sc == nil {
			sc = t.newTypeScope(q, outer)
		}
		return t.intTypeOf(rt.Val, sc, false), true
	}
	return 0, false
}

// retype gives the columns with an inferred type (oids[i] != 0) that
// type and converts their values; the engine's schema and rows are not
// changed. A value out of the type's range is PostgreSQL's 22003.
func retype(oids []uint32, sch gmssql.Schema, rows []gmssql.Row) (gmssql.Schema, []gmssql.Row, *pgError) {
	if len(oids) == 0 || len(oids) > len(sch) {
		return sch, rows, nil
	}
	out := make(gmssql.Schema, len(sch))
	copy(out, sch)
	oids = append([]uint32(nil), oids...)
	changed := false
	for i, oid := range oids {
		if oid == 0 || !retypable(sch[i].Type) || typeOID(sch[i].Type) == oid {
			oids[i] = 0
			continue
		}
		col := *sch[i]
		col.Type = intType(oid)
		out[i] = &col
		changed = true
	}
	if !changed {
		return sch, rows, nil
	}
	newRows := make([]gmssql.Row, len(rows))
	for r, row := range rows {
		nr := make(gmssql.Row, len(row))
		copy(nr, row)
		for i, oid := range oids {
			if oid == 0 || i >= len(nr) || nr[i] == nil {
				continue
			}
			v, perr := toPGInt(nr[i], oid)
			if perr != nil {
				return nil, nil, perr
			}
			nr[i] = v
		}
		newRows[r] = nr
	}
	return out, newRows, nil
}

// retypable says the engine computed a number (or NULL) for the column,
// so an inferred integer type applies.
func retypable(t gmssql.Type) bool {
	if t == nil || types.IsBoolean(t) || strings.EqualFold(t.String(), "tinyint(1)") {
		return false
	}
	return types.IsInteger(t) || types.IsFloat(t) || types.IsDecimal(t) || t == types.Null
}

func intType(oid uint32) gmssql.Type {
	switch oid {
	case oidInt2:
		return types.Int16
	case oidInt4:
		return types.Int32
	}
	return types.Int64
}

// toPGInt converts an engine number to the integer type oid: integers
// exactly, floats rounded (PostgreSQL's float-to-int casts round),
// decimals truncated (they come from / and %, which are integer
// operations in PostgreSQL).
func toPGInt(v any, oid uint32) (any, *pgError) {
	var n int64
	ok := true
	switch x := v.(type) {
	case int8:
		n = int64(x)
	case int16:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case int:
		n = int64(x)
	case uint8:
		n = int64(x)
	case uint16:
		n = int64(x)
	case uint32:
		n = int64(x)
	case uint64:
		n, ok = int64(x), x <= math.MaxInt64
	case float32:
		f := math.RoundToEven(float64(x))
		n, ok = int64(f), f >= math.MinInt64 && f < math.MaxInt64
	case float64:
		f := math.RoundToEven(x)
		n, ok = int64(f), f >= math.MinInt64 && f < math.MaxInt64
	case decimal.Decimal:
		d := x.Truncate(0)
		ok = d.GreaterThanOrEqual(decimal.NewFromInt(math.MinInt64)) && d.LessThanOrEqual(decimal.NewFromInt(math.MaxInt64))
		n = d.IntPart()
	case bool:
		if x {
			n = 1
		}
	default:
		p, err := strconv.ParseInt(strings.TrimSpace(fmt.Sprint(v)), 10, 64)
		if err != nil {
			return nil, newError(codeInvalidText, fmt.Sprintf("invalid input syntax for type %s: %q", intName(oid), fmt.Sprint(v)))
		}
		n = p
	}
	switch oid {
	case oidInt2:
		if ok && n >= math.MinInt16 && n <= math.MaxInt16 {
			return int16(n), nil
		}
	case oidInt4:
		if ok && n >= math.MinInt32 && n <= math.MaxInt32 {
			return int32(n), nil
		}
	default:
		if ok {
			return n, nil
		}
	}
	return nil, newError(codeNumericOutOfRange, intName(oid)+" out of range")
}

// intName is PostgreSQL's name for an integer type in its messages.
func intName(oid uint32) string {
	switch oid {
	case oidInt2:
		return "smallint"
	case oidInt4:
		return "integer"
	}
	return "bigint"
}
