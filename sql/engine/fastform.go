package engine

import (
	"sync"
	"sync/atomic"

	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// FastForm is a statement text's fast form (see PointSelect,
// RangeSelect, PointInsert and PointWrite): at most one field is set.
type FastForm struct {
	Select *PointSelect
	Range  *RangeSelect
	Insert *PointInsert
	Write  *PointWrite
}

// IsZero reports whether the statement has no fast form.
func (f FastForm) IsZero() bool {
	return f.Select == nil && f.Range == nil && f.Insert == nil && f.Write == nil
}

// maxFastForms bounds how many distinct statement texts are remembered.
const maxFastForms = 10000

// fastForms caches FastForm by statement text, for every connection of
// every wire protocol.
type fastForms struct {
	m    sync.Map // query → FastForm
	n    atomic.Int64
	hits atomic.Uint64
}

// FastHits returns how many executions the fast paths answered (handled,
// whether or not they failed).
func (e *Engine) FastHits() uint64 { return e.fast.hits.Load() }

// FastForm returns query's fast form, parsing it the first time.
func (e *Engine) FastForm(query string) FastForm {
	if v, ok := e.fast.m.Load(query); ok {
		return v.(FastForm)
	}
	var f FastForm
	if stmt, err := sqlparser.Parse(query); err == nil {
		switch stmt.(type) {
		case *sqlparser.Select:
			if f.Select = pointSelectOf(stmt); f.Select == nil {
				f.Range = rangeSelectOf(stmt)
			}
		case *sqlparser.Insert:
			f.Insert = pointInsertOf(stmt)
		case *sqlparser.Update, *sqlparser.Delete:
			f.Write = pointWriteOf(stmt)
		}
	}
	if e.fast.n.Load() < maxFastForms {
		if _, loaded := e.fast.m.LoadOrStore(query, f); !loaded {
			e.fast.n.Add(1)
		}
	}
	return f
}
