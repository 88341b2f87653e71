package engine

import (
	"bytes"
	"cmp"
	"errors"
	"slices"
	"strconv"
	"sync"
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
// back to the decoded path (errNotInPlace), which then answers or fails
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

// errNotInPlace is a stored value the in-place readers (wire rows here,
// rangePlan.sumEncoded) do not take: the statement goes back to the
// decoded path.
var errNotInPlace = errors.New("engine: stored value not read in place")

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
	return sqltypes.Value{}, arena, errNotInPlace
}

// wireRow is one row of a wire result and its ORDER BY key: text, or
// an integer as a uint64 that orders as the integer does (a signed key
// has its sign bit flipped).
type wireRow struct {
	vals []sqltypes.Value
	text []byte
	num  uint64
}

// wireBufs are the buffers of one wire result. The MySQL wire writes a
// result out before its callback returns; it then gives them back
// (RangeResult.Release) for the next range select: allocating them anew
// was a third of the bytes oltp_read_write allocated.
type wireBufs struct {
	cols  []catalog.Column
	rows  []wireRow
	slab  []sqltypes.Value // the rows' values
	arena []byte           // the values' bytes
	perm  []int32
	out   [][]sqltypes.Value
}

var wireBufPool = sync.Pool{New: func() any { return new(wireBufs) }}

// maxPooledArena bounds the value bytes a pooled wireBufs keeps.
const maxPooledArena = 1 << 20

func (b *wireBufs) release() {
	if cap(b.arena) > maxPooledArena || cap(b.slab) > maxPooledArena/32 {
		return // an outsized result's buffers go to the collector
	}
	clear(b.slab) // the values point into arena, but do not keep old rows' slices
	clear(b.rows)
	clear(b.out)
	wireBufPool.Put(b)
}

// scanWire reads [lo, hi] of t as rows of wire values, in buffers from
// the pool.
func (p *rangePlan) scanWire(ctx *gmssql.Context, t *catalog.Table, lo, hi any, rs *RangeSelect) (*wireBufs, error) {
	w := p.wire
	if w.hasText {
		switch ctx.GetCharacterSetResults() {
		case gmssql.CharacterSet_Unspecified, gmssql.CharacterSet_binary, gmssql.CharacterSet_utf8mb4:
		default:
			return nil, errNotInPlace
		}
	}
	sch := p.table
	width := len(p.proj)
	b := wireBufPool.Get().(*wireBufs)
	if cap(b.cols) < len(sch) {
		b.cols = make([]catalog.Column, len(sch))
	}
	cols := b.cols[:len(sch)]
	rows, slab, arena := b.rows[:0], b.slab[:cap(b.slab)], b.arena[:0]
	used := 0 // values of slab taken
	err := t.ScanKeyRangeEncoded(ctx, lo, hi, func(enc []byte) error {
		if err := catalog.RowColumns(enc, p.need, cols); err != nil {
			return err
		}
		if len(slab)-used < width {
			// Earlier rows keep the old slab; the new one, twice as
			// large, is what the pool keeps.
			slab, used = make([]sqltypes.Value, max(2*len(slab), 64*width)), 0
		}
		r := wireRow{vals: slab[used : used+width : used+width]}
		used += width
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
				var v int64
				v, ok = c.Int()
				r.num = uint64(v) ^ 1<<63
			case wireUnsigned:
				r.num, ok = c.Uint()
			case wireText:
				var s []byte
				if s, ok = c.Str(); ok {
					start := len(arena)
					arena = append(arena, s...)
					r.text = arena[start:]
				}
			}
			if !ok {
				return errNotInPlace
			}
		}
		rows = append(rows, r)
		return nil
	})
	b.rows, b.slab, b.arena = rows, slab, arena
	if err != nil {
		b.release()
		return nil, err
	}
	out := b.out[:0]
	add := func(r *wireRow) {
		// DISTINCT's one column is NOT NULL and compares byte for byte
		// (planFor): equal values have equal wire bytes.
		if !rs.distinct || !wireDuplicate(out, r.vals[0].Raw(), p.order >= 0) {
			out = append(out, r.vals)
		}
	}
	if p.order < 0 {
		for i := range rows {
			add(&rows[i])
		}
		b.out = out
		return b, nil
	}
	// go-mysql-server's sort is stable: ties keep key order, which an
	// unstable sort of positions keeps by comparing the positions last.
	perm := b.perm[:0]
	for i := range rows {
		perm = append(perm, int32(i))
	}
	b.perm = perm
	slices.SortFunc(perm, func(a, b int32) int {
		x, y := &rows[a], &rows[b]
		if rs.desc {
			x, y = y, x
		}
		var c int
		if w.orderKnd == wireText {
			c = bytes.Compare(x.text, y.text)
		} else {
			c = cmp.Compare(x.num, y.num)
		}
		if c == 0 {
			c = cmp.Compare(a, b)
		}
		return c
	})
	for _, i := range perm {
		add(&rows[i])
	}
	b.out = out
	return b, nil
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
