package engine

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// FastForm is a statement text's fast form (see PointSelect,
// RangeSelect, PointInsert, PointWrite and TxnControl): at most one field
// is set.
type FastForm struct {
	Select *PointSelect
	Range  *RangeSelect
	Insert *PointInsert
	Write  *PointWrite
	Txn    TxnControl
}

// IsZero reports whether the statement has no fast form.
func (f FastForm) IsZero() bool {
	return f.Select == nil && f.Range == nil && f.Insert == nil && f.Write == nil && f.Txn == TxnNone
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
		case *sqlparser.Begin, *sqlparser.Commit, *sqlparser.Rollback:
			f.Txn = txnControlOf(stmt)
		}
	}
	if e.fast.n.Load() < maxFastForms {
		if _, loaded := e.fast.m.LoadOrStore(query, f); !loaded {
			e.fast.n.Add(1)
		}
	}
	return f
}

// maxNormalizedLen bounds the statement texts NormalizeLiterals parses:
// the fast forms are short, and a long text is parsed once more for
// nothing when it has none.
const maxNormalizedLen = 512

// NormalizeLiterals turns a statement sent as text with its values
// written in (COM_QUERY, PostgreSQL's simple query protocol, drivers that
// interpolate parameters client-side) into the text of the same statement
// with parameters, and those parameters' values, so that the fast forms —
// and their row locks — serve it as they serve a prepared statement. Only
// integer and quoted string literals become parameters (a decimal or
// float literal is typed differently from any parameter); ok is false
// when the text does not parse, has other literals or parameters of its
// own, or is not a short SELECT, INSERT, UPDATE or DELETE. Running the
// normalized text with the values must mean the same as running the text;
// the fast paths, which decline whatever they cannot answer exactly as
// go-mysql-server would, ensure that for the statements they take, and
// everything else runs as the original text.
func NormalizeLiterals(query string) (normalized string, vals map[string]*querypb.BindVariable, ok bool) {
	if len(query) > maxNormalizedLen || !fastCandidate(query) {
		return "", nil, false
	}
	stmt, err := sqlparser.Parse(query)
	if err != nil {
		return "", nil, false
	}
	switch stmt.(type) {
	case *sqlparser.Select, *sqlparser.Insert, *sqlparser.Update, *sqlparser.Delete:
	default:
		return "", nil, false
	}
	if len(sqlparser.GetBindvars(stmt)) > 0 {
		return "", nil, false // parameters of its own
	}
	vals = make(map[string]*querypb.BindVariable)
	sqlparser.Normalize(stmt, vals, "v")
	if len(vals) == 0 {
		return "", nil, false
	}
	for _, bv := range vals {
		switch bv.Type {
		case sqltypes.Int64, sqltypes.Uint64, sqltypes.VarBinary:
		default:
			return "", nil, false
		}
	}
	return sqlparser.String(stmt), vals, true
}

// fastCandidate reports whether query starts with a keyword a fast form
// can start with.
func fastCandidate(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	if len(q) < 6 {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "SELECT", "INSERT", "UPDATE", "DELETE":
		return true
	}
	return false
}
