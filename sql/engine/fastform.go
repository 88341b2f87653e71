package engine

import (
	"sync"
	"sync/atomic"
)

// FastForm is a statement text's fast form (see PointSelect and
// PointInsert): at most one field is set.
type FastForm struct {
	Select *PointSelect
	Insert *PointInsert
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
	if f.Select = ParsePointSelect(query); f.Select == nil {
		f.Insert = ParsePointInsert(query)
	}
	if e.fast.n.Load() < maxFastForms {
		if _, loaded := e.fast.m.LoadOrStore(query, f); !loaded {
			e.fast.n.Add(1)
		}
	}
	return f
}
