package policy

import (
	"strings"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// The commonest policy compares one column with a value of the principal
// or a constant: `row.bank == principal.attributes.bank`. Such an
// expression is recognised when it is compiled and evaluated natively,
// with CEL's semantics (a NULL column or a missing attribute never
// matches; equality across types is false), at a fraction of an
// interpreter run per row. Anything else runs in CEL.

// eqPattern is `row.<col> == <other>` (either way round), where other is
// a literal or a field path of principal.
type eqPattern struct {
	col     int
	lit     ref.Val  // the literal, or nil
	path    []string // principal.<path…> otherwise
	inList  bool     // row.<col> in <list literal> (lit is the list)
	colKind kind
}

// matchEq recognises the pattern in a checked expression.
func matchEq(e celast.Expr, shape *rowShape) *eqPattern {
	if e.Kind() != celast.CallKind {
		return nil
	}
	call := e.AsCall()
	args := call.Args()
	if len(args) != 2 {
		return nil
	}
	switch call.FunctionName() {
	case "_==_":
		if p := eqSides(args[0], args[1], shape); p != nil {
			return p
		}
		return eqSides(args[1], args[0], shape)
	case "@in":
		col, ok := rowColumn(args[0], shape)
		if !ok || args[1].Kind() != celast.ListKind {
			return nil
		}
		var elems []ref.Val
		for _, x := range args[1].AsList().Elements() {
			if x.Kind() != celast.LiteralKind {
				return nil
			}
			elems = append(elems, x.AsLiteral())
		}
		return &eqPattern{col: col, colKind: shape.kinds[col], lit: types.NewRefValList(types.DefaultTypeAdapter, elems), inList: true}
	}
	return nil
}

func eqSides(rowSide, other celast.Expr, shape *rowShape) *eqPattern {
	col, ok := rowColumn(rowSide, shape)
	if !ok {
		return nil
	}
	p := &eqPattern{col: col, colKind: shape.kinds[col]}
	if other.Kind() == celast.LiteralKind {
		p.lit = other.AsLiteral()
		return p
	}
	var path []string
	for other.Kind() == celast.SelectKind {
		sel := other.AsSelect()
		if sel.IsTestOnly() {
			return nil
		}
		path = append([]string{sel.FieldName()}, path...)
		other = sel.Operand()
	}
	if other.Kind() != celast.IdentKind || other.AsIdent() != "principal" || len(path) == 0 {
		return nil
	}
	p.path = path
	return p
}

// rowColumn recognises row.<col> of a column whose values convert exactly.
func rowColumn(e celast.Expr, shape *rowShape) (int, bool) {
	if e.Kind() != celast.SelectKind {
		return 0, false
	}
	sel := e.AsSelect()
	if sel.IsTestOnly() || sel.Operand().Kind() != celast.IdentKind || sel.Operand().AsIdent() != "row" {
		return 0, false
	}
	col, ok := shape.byName[strings.ToLower(sel.FieldName())]
	if !ok {
		return 0, false
	}
	switch shape.kinds[col] {
	case kindString, kindInt, kindUint, kindBool:
		return col, true
	}
	return 0, false
}

// eqMatcher is an eqPattern with the principal's side resolved.
type eqMatcher struct {
	col   int
	kind  kind
	value ref.Val // nil: the principal side does not exist, nothing matches
	list  ref.Val // for inList
	shape *rowShape
}

func (p *eqPattern) bind(pv *principalValue, shape *rowShape) *eqMatcher {
	m := &eqMatcher{col: p.col, kind: p.colKind, shape: shape}
	switch {
	case p.inList:
		m.list = p.lit
	case p.lit != nil:
		m.value = p.lit
	default:
		m.value = principalPath(pv, p.path)
	}
	return m
}

// principalPath resolves principal.<path…>, nil if it does not exist.
func principalPath(pv *principalValue, path []string) ref.Val {
	var v ref.Val
	switch path[0] {
	case "name":
		v = pv.name
	case "host":
		v = pv.host
	case "roles":
		v = pv.roles
	case "attributes":
		v = pv.attributes
	default:
		return nil
	}
	for _, f := range path[1:] {
		m, ok := v.(interface {
			Find(ref.Val) (ref.Val, bool)
		})
		if !ok {
			return nil
		}
		if v, ok = m.Find(types.String(f)); !ok || types.IsError(v) {
			return nil
		}
	}
	return v
}

func (m *eqMatcher) allow(row []any) bool {
	if m.col >= len(row) || row[m.col] == nil {
		return false
	}
	// The common cases without boxing: a string or integer column against
	// a value of the same CEL type.
	switch want := m.value.(type) {
	case types.String:
		if got, ok := row[m.col].(string); ok && m.kind == kindString {
			return got == string(want)
		}
	case types.Int:
		if got, ok := asInt64(row[m.col]); ok && m.kind == kindInt {
			return got == int64(want)
		}
	}
	v := toCEL(m.kind, m.shape.sqlTyp[m.col], row[m.col])
	if types.IsError(v) {
		return false
	}
	if m.list != nil {
		c, ok := m.list.(interface{ Contains(ref.Val) ref.Val })
		return ok && c.Contains(v) == types.True
	}
	if m.value == nil {
		return false
	}
	return v.Equal(m.value) == types.True
}

// hasNull reports whether the pattern compares with a null literal, where
// a NULL column matches: left to CEL.
func (p *eqPattern) hasNull() bool {
	if p.lit == nil {
		return false
	}
	if p.lit == types.NullValue {
		return true
	}
	if l, ok := p.lit.(interface{ Contains(ref.Val) ref.Val }); ok && p.inList {
		return l.Contains(types.NullValue) == types.True
	}
	return false
}
