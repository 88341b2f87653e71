package pgwire

import (
	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// catalogFallback answers a query that only reads pg_catalog relations
// but uses syntax Coffer cannot translate (psql's publication and
// extended-statistics queries, with arrays and generate_series) with an
// empty result of the right shape: Coffer has none of those objects.
func catalogFallback(n *pg.Node) (statement, bool) {
	sel := n.GetSelectStmt()
	if sel == nil {
		return statement{}, false
	}
	onlyCatalog, any := true, false
	walkRangeVars(n.ProtoReflect(), func(rv *pg.RangeVar) {
		any = true
		if rv.Schemaname != "pg_catalog" && catalogRelations[rv.Relname] == "" {
			onlyCatalog = false
		}
	})
	if !any || !onlyCatalog {
		return statement{}, false
	}
	for sel.Op != pg.SetOperation_SETOP_NONE && sel.Larg != nil {
		sel = sel.Larg
	}
	var cols []string
	for _, tn := range sel.TargetList {
		rt := tn.GetResTarget()
		name := rt.GetName()
		if name == "" {
			if cr := rt.GetVal().GetColumnRef(); cr != nil {
				if f := stringList(cr.Fields); len(f) > 0 {
					name = f[len(f)-1]
				}
			}
		}
		if name == "" {
			name = impliedName(rt.GetVal())
		}
		if name == "" {
			name = "?column?"
		}
		cols = append(cols, name)
	}
	return statement{kind: kindEmptyRows, tag: "SELECT", columns: cols}, true
}

func walkRangeVars(m protoreflect.Message, f func(*pg.RangeVar)) {
	if rv, ok := m.Interface().(*pg.RangeVar); ok {
		f(rv)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walkRangeVars(l.Get(i).Message(), f)
			}
		case fd.Message() != nil && !fd.IsMap():
			walkRangeVars(v.Message(), f)
		}
		return true
	})
}
