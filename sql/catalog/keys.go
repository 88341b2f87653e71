package catalog

import (
	"bytes"
	"context"
	"reflect"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/cofferdb/coffer/storage"
)

// keyColumn is one column of a key: its position in the row and how its
// values are encoded.
type keyColumn struct {
	ord       int
	typ       gmssql.Type
	prefix    int                // bytes of a string kept in the key; 0 = all
	collation gmssql.CollationID // non-binary collations encode weights
	weighted  bool
}

func newKeyColumn(sch gmssql.Schema, ord int, prefix int64) keyColumn {
	kc := keyColumn{ord: ord, typ: sch[ord].Type, prefix: int(prefix)}
	if st, ok := kc.typ.(gmssql.StringType); ok && types.IsText(kc.typ) {
		kc.collation = st.Collation()
		kc.weighted = !binaryCollation(kc.collation)
	}
	return kc
}

func binaryCollation(c gmssql.CollationID) bool {
	n := c.Name()
	return n == "binary" || strings.HasSuffix(n, "_bin")
}

// ordered reports whether byte order of the encoding is SQL order.
func (kc keyColumn) ordered() bool { return !kc.weighted && kc.prefix == 0 }

// keyableType reports whether values of typ can be part of a key.
func keyableType(typ gmssql.Type) bool {
	switch typ.(type) {
	case types.JsonType, types.GeometryType, types.PointType, types.LineStringType, types.PolygonType,
		types.MultiPointType, types.MultiLineStringType, types.MultiPolygonType, types.GeomCollType:
		return false
	}
	return true
}

// appendKeyColumn appends the key encoding of v for column kc.
func appendKeyColumn(dst []byte, kc keyColumn, v any) ([]byte, error) {
	if v == nil {
		return storage.AppendKeyValue(dst, nil)
	}
	if kc.prefix > 0 || kc.weighted {
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case []byte:
			s = string(x)
		default:
			return storage.AppendKeyValue(dst, v)
		}
		if kc.prefix > 0 && len([]rune(s)) > kc.prefix {
			s = string([]rune(s)[:kc.prefix])
		}
		if kc.weighted {
			var w bytes.Buffer
			if err := kc.collation.WriteWeightString(&w, s); err != nil {
				return nil, err
			}
			return storage.AppendKeyValue(dst, w.Bytes())
		}
		return storage.AppendKeyValue(dst, s)
	}
	if w, ok := v.(gmssql.StringWrapper); ok {
		s, err := w.Unwrap(context.Background())
		if err != nil {
			return nil, err
		}
		return storage.AppendKeyValue(dst, s)
	}
	return storage.AppendKeyValue(dst, v)
}

// encodeKey appends the tuple of row's values at cols.
func encodeKey(dst []byte, cols []keyColumn, row gmssql.Row) (_ []byte, hasNull bool, err error) {
	for _, kc := range cols {
		v := row[kc.ord]
		hasNull = hasNull || v == nil
		if dst, err = appendKeyColumn(dst, kc, v); err != nil {
			return nil, false, err
		}
	}
	return dst, hasNull, nil
}

// rangeBounds computes a key range [lo, hi) under prefix that contains every
// entry matching r. It may be wider than r: it stops at the first column
// whose bound cannot be encoded exactly. exact reports that it is not, so
// that every entry in [lo, hi) matches r and the caller need not filter.
func rangeBounds(ctx *gmssql.Context, prefix []byte, cols []keyColumn, r gmssql.MySQLRange) (lo, hi []byte, exact bool) {
	lo = append([]byte(nil), prefix...)
	hi = append([]byte(nil), prefix...)
	exact = len(r) <= len(cols)
	for i, ce := range r {
		if i >= len(cols) {
			break
		}
		kc := cols[i]
		lk, lok := boundKey(ctx, kc, ce.LowerBound)
		uk, uok := boundKey(ctx, kc, ce.UpperBound)
		point := lok && uok && bytes.Equal(lk, uk) &&
			ce.LowerBound.TypeAsLowerBound() == gmssql.Closed && ce.UpperBound.TypeAsUpperBound() == gmssql.Closed
		if point {
			lo = append(lo, lk...)
			hi = append(hi, uk...)
			exact = exact && kc.prefix == 0
			continue
		}
		if !kc.ordered() {
			return lo, storage.PrefixEnd(hi), false
		}
		exact = exact && lok && exactUpper(ce.UpperBound, uok) && unconstrained(r[i+1:])
		lo = lowerCut(lo, ce.LowerBound, lk, lok)
		hi = upperCut(hi, ce.UpperBound, uk, uok)
		return lo, storage.PrefixEnd(hi), exact
	}
	return lo, storage.PrefixEnd(hi), exact
}

// exactUpper reports whether upperCut bounds an upper cut exactly: an
// inclusive encoded key, or no bound at all. (An exclusive one is widened
// to include the key itself.)
func exactUpper(cut gmssql.MySQLRangeCut, ok bool) bool {
	if _, all := cut.(gmssql.AboveAll); all {
		return true
	}
	return ok && cut.TypeAsUpperBound() == gmssql.Closed
}

// unconstrained reports whether every column range of rest is the whole
// column.
func unconstrained(rest gmssql.MySQLRange) bool {
	for _, ce := range rest {
		if ce.Type() != gmssql.RangeType_All {
			return false
		}
	}
	return true
}

// boundKey encodes a range cut's key; ok is false for infinite cuts and for
// keys whose conversion to the column type might not be exact.
func boundKey(ctx *gmssql.Context, kc keyColumn, cut gmssql.MySQLRangeCut) ([]byte, bool) {
	switch cut.(type) {
	case gmssql.BelowNull, gmssql.AboveNull:
		return []byte{0x01}, true // the NULL tag
	case gmssql.Below, gmssql.Above:
	default:
		return nil, false
	}
	raw := gmssql.GetMySQLRangeCutKey(cut)
	conv, inRange, err := kc.typ.Convert(ctx, raw)
	if err != nil || inRange != gmssql.InRange || !exactConversion(raw, conv) {
		return nil, false
	}
	k, err := appendKeyColumn(nil, kc, conv)
	if err != nil {
		return nil, false
	}
	return k, true
}

func exactConversion(raw, conv any) bool {
	if raw == nil || conv == nil {
		return false
	}
	if reflect.TypeOf(raw) == reflect.TypeOf(conv) {
		return true
	}
	isInt := func(v any) bool {
		switch v.(type) {
		case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64:
			return true
		}
		return false
	}
	return isInt(raw) && isInt(conv)
}

// lowerCut narrows lo (already holding the equal prefix) by a lower cut.
// A key that cannot be encoded leaves lo at the prefix: wider, not wrong.
func lowerCut(lo []byte, cut gmssql.MySQLRangeCut, k []byte, ok bool) []byte {
	if !ok {
		return lo
	}
	if cut.TypeAsLowerBound() == gmssql.Closed {
		return append(lo, k...)
	}
	return storage.PrefixEnd(append(lo, k...)) // strictly above k
}

// upperCut returns the inclusive-prefix upper key: every entry whose key
// starts with a value <= the cut is below PrefixEnd of the result.
func upperCut(hi []byte, cut gmssql.MySQLRangeCut, k []byte, ok bool) []byte {
	if !ok {
		return hi
	}
	if cut.TypeAsUpperBound() == gmssql.Closed {
		return append(hi, k...)
	}
	// Open: entries strictly below k. PrefixEnd(hi+k) would include k, so
	// step back: hi+k itself is excluded by making the caller's bound hi+k.
	return append(hi, k...)
}
