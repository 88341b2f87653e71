package pgwire

import (
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

func (t *translator) exprList(ns []*pg.Node) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = t.expr(n)
	}
	return strings.Join(parts, ", ")
}

// expr translates an expression.
func (t *translator) expr(n *pg.Node) string {
	if n == nil {
		return "NULL"
	}
	switch {
	case n.GetColumnRef() != nil:
		return t.columnRef(n.GetColumnRef())
	case n.GetAConst() != nil:
		return constant(n.GetAConst())
	case n.GetParamRef() != nil:
		p := int(n.GetParamRef().Number)
		if p > t.maxParam {
			t.maxParam = p
		}
		return fmt.Sprintf(":v%d", p)
	case n.GetAExpr() != nil:
		return t.aExpr(n.GetAExpr())
	case n.GetBoolExpr() != nil:
		be := n.GetBoolExpr()
		switch be.Boolop {
		case pg.BoolExprType_NOT_EXPR:
			return "(NOT " + t.expr(be.Args[0]) + ")"
		case pg.BoolExprType_AND_EXPR:
			return "(" + t.joinExprs(be.Args, " AND ") + ")"
		default:
			return "(" + t.joinExprs(be.Args, " OR ") + ")"
		}
	case n.GetNullTest() != nil:
		nt := n.GetNullTest()
		if nt.Nulltesttype == pg.NullTestType_IS_NULL {
			return "(" + t.expr(nt.Arg) + " IS NULL)"
		}
		return "(" + t.expr(nt.Arg) + " IS NOT NULL)"
	case n.GetBooleanTest() != nil:
		bt := n.GetBooleanTest()
		ops := map[pg.BoolTestType]string{
			pg.BoolTestType_IS_TRUE: "IS TRUE", pg.BoolTestType_IS_NOT_TRUE: "IS NOT TRUE",
			pg.BoolTestType_IS_FALSE: "IS FALSE", pg.BoolTestType_IS_NOT_FALSE: "IS NOT FALSE",
			pg.BoolTestType_IS_UNKNOWN: "IS NULL", pg.BoolTestType_IS_NOT_UNKNOWN: "IS NOT NULL",
		}
		return "(" + t.expr(bt.Arg) + " " + ops[bt.Booltesttype] + ")"
	case n.GetFuncCall() != nil:
		return t.funcCall(n.GetFuncCall())
	case n.GetTypeCast() != nil:
		return t.typeCast(n.GetTypeCast())
	case n.GetSubLink() != nil:
		return t.subLink(n.GetSubLink())
	case n.GetCaseExpr() != nil:
		return t.caseExpr(n.GetCaseExpr())
	case n.GetCoalesceExpr() != nil:
		return "COALESCE(" + t.exprList(n.GetCoalesceExpr().Args) + ")"
	case n.GetMinMaxExpr() != nil:
		mm := n.GetMinMaxExpr()
		if mm.Op == pg.MinMaxOp_IS_GREATEST {
			return "GREATEST(" + t.exprList(mm.Args) + ")"
		}
		return "LEAST(" + t.exprList(mm.Args) + ")"
	case n.GetNullIfExpr() != nil:
		return "NULLIF(" + t.exprList(n.GetNullIfExpr().Args) + ")"
	case n.GetSqlvalueFunction() != nil:
		return t.sqlValueFunc(n.GetSqlvalueFunction())
	case n.GetAStar() != nil:
		return "*"
	case n.GetSetToDefault() != nil:
		return "DEFAULT"
	case n.GetRowExpr() != nil:
		return "(" + t.exprList(n.GetRowExpr().Args) + ")"
	case n.GetList() != nil:
		return "(" + t.exprList(n.GetList().Items) + ")"
	case n.GetAArrayExpr() != nil:
		// Only meaningful on the right of = ANY (…), handled there.
		return "(" + t.exprList(n.GetAArrayExpr().Elements) + ")"
	case n.GetCollateClause() != nil:
		return t.expr(n.GetCollateClause().Arg)
	case n.GetAIndirection() != nil:
		t.unsupported("array subscripts and field selection")
	}
	t.unsupported("expression " + stmtName(n))
	return ""
}

func (t *translator) joinExprs(ns []*pg.Node, sep string) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = t.expr(n)
	}
	return strings.Join(parts, sep)
}

func (t *translator) columnRef(c *pg.ColumnRef) string {
	var parts []string
	for _, f := range c.Fields {
		if f.GetAStar() != nil {
			parts = append(parts, "*")
			continue
		}
		parts = append(parts, f.GetString_().Sval)
	}
	// pg_catalog.pg_class.relname: the emulated relation is aliased by
	// its own name.
	if len(parts) == 3 && (parts[0] == "pg_catalog" || parts[0] == "public") {
		parts = parts[1:]
	}
	if t.inConflictUpdate && len(parts) == 2 && strings.EqualFold(parts[0], "excluded") {
		return "VALUES(" + quoteIdent(parts[1]) + ")"
	}
	if len(parts) == 1 {
		switch parts[0] {
		case "current_user", "session_user", "user", "current_role":
			return quoteString(t.user)
		}
	}
	for i, p := range parts {
		if p != "*" {
			parts[i] = quoteIdent(p)
		}
	}
	return strings.Join(parts, ".")
}

func constant(c *pg.A_Const) string {
	if c.Isnull {
		return "NULL"
	}
	switch {
	case c.GetIval() != nil:
		return fmt.Sprint(c.GetIval().Ival)
	case c.GetFval() != nil:
		return c.GetFval().Fval
	case c.GetSval() != nil:
		return quoteString(c.GetSval().Sval)
	case c.GetBoolval() != nil:
		if c.GetBoolval().Boolval {
			return "TRUE"
		}
		return "FALSE"
	case c.GetBsval() != nil:
		v := c.GetBsval().Bsval
		if strings.HasPrefix(v, "x") || strings.HasPrefix(v, "X") {
			return "X'" + v[1:] + "'"
		}
		return "b'" + strings.TrimLeft(v, "bB") + "'"
	}
	return "NULL"
}

func opName(names []*pg.Node) string {
	ss := stringList(names)
	if len(ss) == 0 {
		return ""
	}
	return ss[len(ss)-1]
}

func (t *translator) hintCompare(l, r *pg.Node) {
	col, par := l.GetColumnRef(), r.GetParamRef()
	if col == nil || par == nil {
		col, par = r.GetColumnRef(), l.GetParamRef()
	}
	if col == nil || par == nil {
		return
	}
	f := stringList(col.Fields)
	if len(f) == 0 {
		return
	}
	h := paramHint{table: t.scope, column: f[len(f)-1]}
	if len(f) == 2 && f[0] != t.scope {
		h.table = "" // an alias: resolved against the statement's table
	}
	t.hints[int(par.Number)] = h
}

func (t *translator) aExpr(a *pg.A_Expr) string {
	op := opName(a.Name)
	switch a.Kind {
	case pg.A_Expr_Kind_AEXPR_OP:
		return t.operator(op, a.Lexpr, a.Rexpr)
	case pg.A_Expr_Kind_AEXPR_OP_ANY, pg.A_Expr_Kind_AEXPR_OP_ALL:
		arr := a.Rexpr.GetAArrayExpr()
		if arr == nil {
			if tc := a.Rexpr.GetTypeCast(); tc != nil {
				arr = tc.Arg.GetAArrayExpr()
			}
		}
		if arr == nil && op == "=" && a.Kind == pg.A_Expr_Kind_AEXPR_OP_ANY {
			// An array value travels as its text form '{a,b}'.
			return "(FIND_IN_SET(" + t.expr(a.Lexpr) + ", TRIM(BOTH '}' FROM TRIM(BOTH '{' FROM " + t.expr(a.Rexpr) + "))) > 0)"
		}
		if arr == nil || (op != "=" && op != "<>") {
			t.unsupported("op ANY/ALL over anything but an ARRAY[…] literal")
		}
		if len(arr.Elements) == 0 {
			if a.Kind == pg.A_Expr_Kind_AEXPR_OP_ANY {
				return "FALSE"
			}
			return "TRUE"
		}
		switch {
		case a.Kind == pg.A_Expr_Kind_AEXPR_OP_ANY && op == "=":
			return "(" + t.expr(a.Lexpr) + " IN (" + t.exprList(arr.Elements) + "))"
		case a.Kind == pg.A_Expr_Kind_AEXPR_OP_ALL && op == "<>":
			return "(" + t.expr(a.Lexpr) + " NOT IN (" + t.exprList(arr.Elements) + "))"
		}
		t.unsupported("this ANY/ALL comparison")
	case pg.A_Expr_Kind_AEXPR_DISTINCT:
		return "(NOT (" + t.expr(a.Lexpr) + " <=> " + t.expr(a.Rexpr) + "))"
	case pg.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		return "(" + t.expr(a.Lexpr) + " <=> " + t.expr(a.Rexpr) + ")"
	case pg.A_Expr_Kind_AEXPR_NULLIF:
		return "NULLIF(" + t.expr(a.Lexpr) + ", " + t.expr(a.Rexpr) + ")"
	case pg.A_Expr_Kind_AEXPR_IN:
		kw := " IN "
		if op == "<>" {
			kw = " NOT IN "
		}
		if items := a.Rexpr.GetList(); items != nil {
			for _, it := range items.Items {
				t.hintCompare(a.Lexpr, it)
			}
		}
		return "(" + t.expr(a.Lexpr) + kw + t.expr(a.Rexpr) + ")"
	case pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE:
		not := strings.HasPrefix(op, "!")
		l, r := t.expr(a.Lexpr), t.expr(a.Rexpr)
		t.hintCompare(a.Lexpr, a.Rexpr)
		if a.Kind == pg.A_Expr_Kind_AEXPR_ILIKE {
			// The engine's default collation is binary, so LIKE is
			// case-sensitive as in PostgreSQL; ILIKE gets a
			// case-insensitive collation.
			r += " COLLATE utf8mb4_0900_as_ci"
		}
		kw := " LIKE "
		if not {
			kw = " NOT LIKE "
		}
		return "(" + l + kw + r + ")"
	case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN:
		bounds := a.Rexpr.GetList().Items
		kw := " BETWEEN "
		if a.Kind == pg.A_Expr_Kind_AEXPR_NOT_BETWEEN {
			kw = " NOT BETWEEN "
		}
		t.hintCompare(a.Lexpr, bounds[0])
		t.hintCompare(a.Lexpr, bounds[1])
		return "(" + t.expr(a.Lexpr) + kw + t.expr(bounds[0]) + " AND " + t.expr(bounds[1]) + ")"
	}
	t.unsupported("operator form " + a.Kind.String())
	return ""
}

func (t *translator) operator(op string, l, r *pg.Node) string {
	if l == nil {
		switch op {
		case "-", "+":
			return "(" + op + t.expr(r) + ")"
		case "~":
			return "(~" + t.expr(r) + ")"
		}
		t.unsupported("prefix operator " + op)
	}
	switch op {
	case "=", "<>", "!=", "<", ">", "<=", ">=":
		t.hintCompare(l, r)
		return "(" + t.expr(l) + " " + op + " " + t.expr(r) + ")"
	case "+", "-", "*", "%", "&", "|", "<<", ">>":
		return "(" + t.expr(l) + " " + op + " " + t.expr(r) + ")"
	case "/":
		// Integer division stays integral in PostgreSQL: between
		// integer constants, casts and columns (truncating, as DIV).
		if (isIntConst(l) && isIntConst(r)) || widerInt(t.intTypeOf(l, t.types, false), t.intTypeOf(r, t.types, false)) != 0 {
			return "(" + t.expr(l) + " DIV " + t.expr(r) + ")"
		}
		return "(" + t.expr(l) + " / " + t.expr(r) + ")"
	case "||":
		return "CONCAT(" + t.expr(l) + ", " + t.expr(r) + ")"
	case "~":
		return "(" + t.expr(l) + " REGEXP BINARY " + t.expr(r) + ")"
	case "!~":
		return "(" + t.expr(l) + " NOT REGEXP BINARY " + t.expr(r) + ")"
	case "~*":
		return "(" + t.expr(l) + " REGEXP " + t.expr(r) + ")"
	case "!~*":
		return "(" + t.expr(l) + " NOT REGEXP " + t.expr(r) + ")"
	case "~~":
		return "(" + t.expr(l) + " LIKE " + t.expr(r) + ")"
	case "!~~":
		return "(" + t.expr(l) + " NOT LIKE " + t.expr(r) + ")"
	case "^":
		return "POW(" + t.expr(l) + ", " + t.expr(r) + ")"
	case "->":
		return "JSON_EXTRACT(" + t.expr(l) + ", " + t.jsonPath(r) + ")"
	case "->>":
		return "JSON_UNQUOTE(JSON_EXTRACT(" + t.expr(l) + ", " + t.jsonPath(r) + "))"
	}
	t.unsupported("operator " + op)
	return ""
}

func isIntConst(n *pg.Node) bool {
	c := n.GetAConst()
	return c != nil && c.GetIval() != nil
}

// jsonPath turns the right side of -> / ->> (a key or an index) into a
// JSON path.
func (t *translator) jsonPath(n *pg.Node) string {
	if c := n.GetAConst(); c != nil {
		if c.GetIval() != nil {
			return fmt.Sprintf("'$[%d]'", c.GetIval().Ival)
		}
		if c.GetSval() != nil {
			return quoteString(`$."` + strings.ReplaceAll(c.GetSval().Sval, `"`, `\"`) + `"`)
		}
	}
	return "CONCAT('$.', " + t.expr(n) + ")"
}

func (t *translator) subLink(s *pg.SubLink) string {
	sub := "(" + t.selectStmt(s.Subselect.GetSelectStmt()) + ")"
	switch s.SubLinkType {
	case pg.SubLinkType_EXISTS_SUBLINK:
		return "(EXISTS " + sub + ")"
	case pg.SubLinkType_EXPR_SUBLINK:
		return sub
	case pg.SubLinkType_ANY_SUBLINK:
		op := opName(s.OperName)
		if op == "" || op == "=" {
			return "(" + t.expr(s.Testexpr) + " IN " + sub + ")"
		}
		return "(" + t.expr(s.Testexpr) + " " + op + " ANY " + sub + ")"
	case pg.SubLinkType_ALL_SUBLINK:
		op := opName(s.OperName)
		if op == "<>" {
			return "(" + t.expr(s.Testexpr) + " NOT IN " + sub + ")"
		}
		return "(" + t.expr(s.Testexpr) + " " + op + " ALL " + sub + ")"
	case pg.SubLinkType_ARRAY_SUBLINK:
		// Arrays travel as their text form, '{a,b}'.
		return "(SELECT CONCAT('{', COALESCE(GROUP_CONCAT(`elem`), ''), '}') FROM " + sub + " AS `arr` (`elem`))"
	}
	t.unsupported("this subquery form")
	return ""
}

func (t *translator) caseExpr(c *pg.CaseExpr) string {
	var b strings.Builder
	b.WriteString("(CASE")
	if c.Arg != nil {
		b.WriteString(" " + t.expr(c.Arg))
	}
	for _, w := range c.Args {
		cw := w.GetCaseWhen()
		b.WriteString(" WHEN " + t.expr(cw.Expr) + " THEN " + t.expr(cw.Result))
	}
	if c.Defresult != nil {
		b.WriteString(" ELSE " + t.expr(c.Defresult))
	}
	b.WriteString(" END)")
	return b.String()
}

func sqlValueFuncName(op pg.SQLValueFunctionOp) string {
	switch op {
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_DATE:
		return "current_date"
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME, pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N:
		return "current_time"
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP, pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N:
		return "current_timestamp"
	case pg.SQLValueFunctionOp_SVFOP_LOCALTIME, pg.SQLValueFunctionOp_SVFOP_LOCALTIME_N:
		return "localtime"
	case pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP, pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:
		return "localtimestamp"
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_ROLE:
		return "current_role"
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_USER:
		return "current_user"
	case pg.SQLValueFunctionOp_SVFOP_USER:
		return "user"
	case pg.SQLValueFunctionOp_SVFOP_SESSION_USER:
		return "session_user"
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:
		return "current_catalog"
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:
		return "current_schema"
	}
	return ""
}

func (t *translator) sqlValueFunc(f *pg.SQLValueFunction) string {
	switch name := sqlValueFuncName(f.Op); name {
	case "current_date":
		return "CURRENT_DATE()"
	case "current_time", "localtime":
		return "CURRENT_TIME(6)"
	case "current_timestamp", "localtimestamp":
		return "NOW(6)"
	case "current_role", "current_user", "user", "session_user":
		return quoteString(t.user)
	case "current_catalog":
		return "DATABASE()"
	case "current_schema":
		return "'public'"
	}
	t.unsupported("this SQL value function")
	return ""
}
