package engine

import (
	"bytes"
	"cmp"
	"errors"
	"slices"
	"strconv"
	"unicode/utf8"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/cofferdb/coffer/sql/catalog"
)

// Range selects for the MySQL wire can skip the Go values in between: a
// stored integer becomes its decimal digits and a stored utf8mb4 string its
// own bytes, written once into one buffer for the whole result, which is
// what go-mysql-server's RowToSQL makes of the decoded value (the column
// type's SQL method: strconv.AppendInt, or the string after a UTF-8 check,
// the utf8mb4 encoder being the identity). A plan whose projected columns
// or ORDER BY column are of any other type reads decoded rows, as do
// sessions whose character_set_results is not utf8mb4 when a text column
// is read; a stored value of an unexpected kind sends the whole statement
// back to the decoded path (errWireDeclined), which then answers or fails
// exactly as before.

// wireKind is how a stored column becomes a wire value.
type wireKind uint8

const (
	wireNone     wireKind = iota // not by this path
	wireSigned                   // a signed integer column
	wireUnsigned                 // an unsigned integer column
	wireText                     // a non-binary utf8mb4 string column
)

func wireKindOf(typ gmssql.Type) wireKind {
	switch {
	case types.IsInteger(typ) && types.IsUnsigned(typ):
		return wireUnsigned
	case types.IsInteger(typ):
		return wireSigned
	}
	if st, ok := typ.(types.StringType); ok && !types.IsBinaryType(typ) && st.CharacterSet() == gmssql.CharacterSet_utf8mb4 {
		return wireText
	}
	return wireNone
}

// errWireDeclined sends a statement back to the decoded path.
var errWireDeclined = errors.New("engine: stored value not for the wire path")

// wirePlan is a rangePlan's wire form: the kind of each projected column
// and of the ORDER BY column.
type wirePlan struct {
	kinds    []wireKind // by projected column
	hasText  bool
	orderKnd wireKind // wireNone: no ORDER BY
}

// wirePlanOf returns p's wire form, or nil when p cannot run by it.
func wirePlanOf(p *rangePlan, sch gmssql.Schema) *wirePlan {
	if p.sum >= 0 {
		return nil
	}
	w := &wirePlan{kinds: make([]wireKind, len(p.proj))}
	for i, o := range p.proj {
		if w.kinds[i] = wireKindOf(sch[o].Type); w.kinds[i] == wireNone {
			return nil
		}
		w.hasText = w.hasText || w.kinds[i] == wireText
	}
	if p.order >= 0 {
		// Text sorts by its bytes only under a collation that compares
		// bytes (the column is NOT NULL: see planFor).
		if w.orderKnd = wireKindOf(p.orderType); w.orderKnd == wireNone ||
			w.orderKnd == wireText && !byteComparable(p.orderType) {
			return nil
		}
	}
	return w
}

// appendValue appends the wire value of c, a column of kind k, to arena.
func appendValue(arena []byte, k wireKind, typ gmssql.Type, c catalog.Column) (sqltypes.Value, []byte, error) {
	if c.IsNull() {
		return sqltypes.NULL, arena, nil
	}
	start := len(arena)
	switch k {
	case wireSigned:
		if v, ok := c.Int(); ok {
			arena = strconv.AppendInt(arena, v, 10)
			return sqltypes.MakeTrusted(typ.Type(), arena[start:]), arena, nil
		}
	case wireUnsigned:
		if v, ok := c.Uint(); ok {
			arena = strconv.AppendUint(arena, v, 10)
			return sqltypes.MakeTrusted(typ.Type(), arena[start:]), arena, nil
		}
	case wireText:
		if b, ok := c.Str(); ok && utf8.Valid(b) {
			arena = append(arena, b...)
			return sqltypes.MakeTrusted(typ.Type(), arena[start:]), arena, nil
		}
	}
	return sqltypes.Value{}, arena, errWireDeclined
}

// wireRow is one row of a wire result and its ORDER BY key.
type wireRow struct {
	vals []sqltypes.Value
	text []byte // a text key
	num  int64  // a signed key
	unum uint64 // an unsigned key
}

// scanWire reads [lo, hi] of t as rows of wire values.
func (p *rangePlan) scanWire(ctx *gmssql.Context, t *catalog.Table, lo, hi any, rs *RangeSelect) ([][]sqltypes.Value, error) {
	w := p.wire
	if w.hasText {
		switch ctx.GetCharacterSetResults() {
		case gmssql.CharacterSet_Unspecified, gmssql.CharacterSet_binary, gmssql.CharacterSet_utf8mb4:
		default:
			return nil, errWireDeclined
		}
	}
	sch := p.table
	cols := make([]catalog.Column, len(sch))
	width := len(p.proj)
	var (
		rows  []wireRow
		slab  []sqltypes.Value
		arena = make([]byte, 0, 4096)
	)
	err := t.ScanKeyRangeEncoded(ctx, lo, hi, func(enc []byte) error {
		if err := catalog.RowColumns(enc, p.need, cols); err != nil {
			return err
		}
		if len(slab) < width {
			slab = make([]sqltypes.Value, 32*width)
		}
		r := wireRow{vals: slab[:width:width]}
		slab = slab[width:]
		for i, o := range p.proj {
			var err error
			if r.vals[i], arena, err = appendValue(arena, w.kinds[i], sch[o].Type, cols[o]); err != nil {
				return err
			}
		}
		if p.order >= 0 {
			c, ok := cols[p.order], false
			switch w.orderKnd {
			case wireSigned:
				r.num, ok = c.Int()
			case wireUnsigned:
				r.unum, ok = c.Uint()
			case wireText:
				var b []byte
				if b, ok = c.Str(); ok {
					start := len(arena)
					arena = append(arena, b...)
					r.text = arena[start:]
				}
			}
			if !ok {
				return errWireDeclined
			}
		}
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if p.order >= 0 {
		// Stable, as go-mysql-server's sort.
		slices.SortStableFunc(rows, func(x, y wireRow) int {
			if rs.desc {
				x, y = y, x
			}
			switch w.orderKnd {
			case wireSigned:
				return cmp.Compare(x.num, y.num)
			case wireUnsigned:
				return cmp.Compare(x.unum, y.unum)
			}
			return bytes.Compare(x.text, y.text)
		})
	}
	out := make([][]sqltypes.Value, 0, len(rows))
	for _, r := range rows {
		// DISTINCT's one column is NOT NULL and compares byte for byte
		// (planFor): equal values have equal wire bytes.
		if rs.distinct && wireDuplicate(out, r.vals[0].Raw(), p.order >= 0) {
			continue
		}
		out = append(out, r.vals)
	}
	return out, nil
}

// wireDuplicate is rangePlan.duplicate for wire values.
func wireDuplicate(out [][]sqltypes.Value, v []byte, sorted bool) bool {
	if sorted {
		return len(out) > 0 && bytes.Equal(out[len(out)-1][0].Raw(), v)
	}
	for _, r := range out {
		if bytes.Equal(r[0].Raw(), v) {
			return true
		}
	}
	return false
}
