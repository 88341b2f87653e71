package catalog

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"
)

// Row encoding: a version byte, the value count as a uvarint, then each
// value as a one-byte tag and a payload. The tag keeps the Go type, so a row
// decodes to exactly the values go-mysql-server wrote. Integers are varints,
// strings and blobs are length-prefixed, times are seconds and nanoseconds
// in UTC.
const rowFormatV1 = 1

const (
	rtNull = iota
	rtInt8
	rtInt16
	rtInt32
	rtInt64
	rtUint8
	rtUint16
	rtUint32
	rtUint64
	rtFloat32
	rtFloat64
	rtString
	rtBytes
	rtDecimal
	rtTime
	rtTimespan
	rtJSON
	rtGeometry
	rtBool
	rtInt
)

var errCorruptRow = errors.New("catalog: corrupt row encoding")

// encodeRow appends the encoding of row to dst.
func encodeRow(dst []byte, row gmssql.Row) ([]byte, error) {
	if dst == nil {
		dst = make([]byte, 0, encodedSizeHint(row))
	}
	dst = append(dst, rowFormatV1)
	dst = binary.AppendUvarint(dst, uint64(len(row)))
	for i, v := range row {
		var err error
		if dst, err = encodeValue(dst, v); err != nil {
			return nil, fmt.Errorf("column %d: %w", i, err)
		}
	}
	return dst, nil
}

// encodedSizeHint is about the size of row's encoding, to allocate it
// once: exact for strings and bytes, an upper bound for the fixed-size
// kinds, a guess for the rest.
func encodedSizeHint(row gmssql.Row) int {
	n := 1 + binary.MaxVarintLen64
	for _, v := range row {
		switch x := v.(type) {
		case string:
			n += 1 + binary.MaxVarintLen64 + len(x)
		case []byte:
			n += 1 + binary.MaxVarintLen64 + len(x)
		default:
			n += 1 + 2*binary.MaxVarintLen64
		}
	}
	return n
}

func encodeValue(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, rtNull), nil
	case int8:
		return binary.AppendVarint(append(dst, rtInt8), int64(x)), nil
	case int16:
		return binary.AppendVarint(append(dst, rtInt16), int64(x)), nil
	case int32:
		return binary.AppendVarint(append(dst, rtInt32), int64(x)), nil
	case int64:
		return binary.AppendVarint(append(dst, rtInt64), x), nil
	case int:
		return binary.AppendVarint(append(dst, rtInt), int64(x)), nil
	case uint8:
		return binary.AppendUvarint(append(dst, rtUint8), uint64(x)), nil
	case uint16:
		return binary.AppendUvarint(append(dst, rtUint16), uint64(x)), nil
	case uint32:
		return binary.AppendUvarint(append(dst, rtUint32), uint64(x)), nil
	case uint64:
		return binary.AppendUvarint(append(dst, rtUint64), x), nil
	case bool:
		if x {
			return append(dst, rtBool, 1), nil
		}
		return append(dst, rtBool, 0), nil
	case float32:
		return binary.LittleEndian.AppendUint32(append(dst, rtFloat32), math.Float32bits(x)), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(dst, rtFloat64), math.Float64bits(x)), nil
	case string:
		dst = binary.AppendUvarint(append(dst, rtString), uint64(len(x)))
		return append(dst, x...), nil
	case []byte:
		dst = binary.AppendUvarint(append(dst, rtBytes), uint64(len(x)))
		return append(dst, x...), nil
	case decimal.Decimal:
		// exponent, then the coefficient: keeps the scale (2.50 stays 2.50)
		dst = binary.AppendVarint(append(dst, rtDecimal), int64(x.Exponent()))
		s := x.Coefficient().String()
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		return append(dst, s...), nil
	case time.Time:
		x = x.UTC()
		dst = binary.AppendVarint(append(dst, rtTime), x.Unix())
		return binary.AppendUvarint(dst, uint64(x.Nanosecond())), nil
	case types.Timespan:
		return binary.AppendVarint(append(dst, rtTimespan), int64(x)), nil
	case types.GeometryValue:
		b := x.Serialize()
		dst = binary.AppendUvarint(append(dst, rtGeometry), uint64(len(b)))
		return append(dst, b...), nil
	case gmssql.JSONWrapper:
		b, err := types.MarshallJson(x)
		if err != nil {
			return nil, err
		}
		dst = binary.AppendUvarint(append(dst, rtJSON), uint64(len(b)))
		return append(dst, b...), nil
	}
	return nil, fmt.Errorf("catalog: cannot store value of type %T", v)
}

// decodeRow decodes a row encoded by encodeRow into a row of width n
// (missing trailing values are NULL; a row written under a wider schema is
// cut).
func decodeRow(b []byte, n int) (gmssql.Row, error) { return decodeRowColumns(b, n, nil) }

// decodeRowColumns is decodeRow for a reader that uses only the columns
// need marks (nil: all): a string or binary value of any other column is
// stepped over without being copied out.
func decodeRowColumns(b []byte, n int, need []bool) (gmssql.Row, error) {
	if len(b) < 1 || b[0] != rowFormatV1 {
		return nil, errCorruptRow
	}
	b = b[1:]
	count, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, errCorruptRow
	}
	b = b[k:]
	row := make(gmssql.Row, n)
	for i := 0; i < int(count); i++ {
		if need != nil && (i >= n || !need[i]) && len(b) > 0 && (b[0] == rtString || b[0] == rtBytes) {
			var err error
			if b, err = skipValue(b); err != nil {
				return nil, err
			}
			continue
		}
		v, rest, err := decodeValue(b)
		if err != nil {
			return nil, err
		}
		b = rest
		if i < n {
			row[i] = v
		}
	}
	return row, nil
}

// decodeColumn returns column col of a row encoded by encodeRow (ok
// false: the row has fewer columns), stepping over the columns before it
// without decoding them.
func decodeColumn(b []byte, col int) (v any, ok bool, err error) {
	if len(b) < 1 || b[0] != rowFormatV1 {
		return nil, false, errCorruptRow
	}
	count, k := binary.Uvarint(b[1:])
	if k <= 0 {
		return nil, false, errCorruptRow
	}
	if col >= int(count) {
		return nil, false, nil
	}
	b = b[1+k:]
	for i := 0; i < col; i++ {
		if b, err = skipValue(b); err != nil {
			return nil, false, err
		}
	}
	v, _, err = decodeValue(b)
	return v, err == nil, err
}

// skipValue returns b after its first encoded value.
func skipValue(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, errCorruptRow
	}
	tag, b := b[0], b[1:]
	varint := func(b []byte) ([]byte, error) {
		if _, k := binary.Uvarint(b); k > 0 { // a varint's length is its uvarint's
			return b[k:], nil
		}
		return nil, errCorruptRow
	}
	sized := func(b []byte) ([]byte, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return nil, errCorruptRow
		}
		return b[k+int(n):], nil
	}
	fixed := func(n int) ([]byte, error) {
		if len(b) < n {
			return nil, errCorruptRow
		}
		return b[n:], nil
	}
	switch tag {
	case rtNull:
		return b, nil
	case rtInt8, rtInt16, rtInt32, rtInt64, rtInt, rtTimespan, rtUint8, rtUint16, rtUint32, rtUint64:
		return varint(b)
	case rtBool:
		return fixed(1)
	case rtFloat32:
		return fixed(4)
	case rtFloat64:
		return fixed(8)
	case rtString, rtBytes, rtJSON, rtGeometry:
		return sized(b)
	case rtDecimal:
		rest, err := varint(b)
		if err != nil {
			return nil, err
		}
		return sized(rest)
	case rtTime:
		rest, err := varint(b)
		if err != nil {
			return nil, err
		}
		return varint(rest)
	}
	return nil, errCorruptRow
}

func decodeValue(b []byte) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, errCorruptRow
	}
	tag, b := b[0], b[1:]
	varint := func() (int64, []byte, error) {
		v, k := binary.Varint(b)
		if k <= 0 {
			return 0, nil, errCorruptRow
		}
		return v, b[k:], nil
	}
	uvarint := func() (uint64, []byte, error) {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			return 0, nil, errCorruptRow
		}
		return v, b[k:], nil
	}
	bytesVal := func() ([]byte, []byte, error) {
		n, rest, err := uvarint()
		if err != nil || uint64(len(rest)) < n {
			return nil, nil, errCorruptRow
		}
		return rest[:n], rest[n:], nil
	}
	switch tag {
	case rtNull:
		return nil, b, nil
	case rtInt8, rtInt16, rtInt32, rtInt64, rtInt, rtTimespan:
		v, rest, err := varint()
		if err != nil {
			return nil, nil, err
		}
		switch tag {
		case rtInt8:
			return int8(v), rest, nil
		case rtInt16:
			return int16(v), rest, nil
		case rtInt32:
			return int32(v), rest, nil
		case rtInt:
			return int(v), rest, nil
		case rtTimespan:
			return types.Timespan(v), rest, nil
		}
		return v, rest, nil
	case rtUint8, rtUint16, rtUint32, rtUint64:
		v, rest, err := uvarint()
		if err != nil {
			return nil, nil, err
		}
		switch tag {
		case rtUint8:
			return uint8(v), rest, nil
		case rtUint16:
			return uint16(v), rest, nil
		case rtUint32:
			return uint32(v), rest, nil
		}
		return v, rest, nil
	case rtBool:
		if len(b) < 1 {
			return nil, nil, errCorruptRow
		}
		return b[0] == 1, b[1:], nil
	case rtFloat32:
		if len(b) < 4 {
			return nil, nil, errCorruptRow
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(b)), b[4:], nil
	case rtFloat64:
		if len(b) < 8 {
			return nil, nil, errCorruptRow
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:], nil
	case rtString:
		v, rest, err := bytesVal()
		return string(v), rest, err
	case rtBytes:
		v, rest, err := bytesVal()
		return append([]byte{}, v...), rest, err // empty, not nil: a nil []byte is no empty BLOB
	case rtDecimal:
		exp, rest, err := varint()
		if err != nil {
			return nil, nil, err
		}
		b = rest
		v, rest, err := bytesVal()
		if err != nil {
			return nil, nil, err
		}
		coef, ok := new(big.Int).SetString(string(v), 10)
		if !ok {
			return nil, nil, errCorruptRow
		}
		return decimal.NewFromBigInt(coef, int32(exp)), rest, nil
	case rtTime:
		sec, rest, err := varint()
		if err != nil {
			return nil, nil, err
		}
		b = rest
		ns, rest, err := uvarint()
		if err != nil {
			return nil, nil, err
		}
		return time.Unix(sec, int64(ns)).UTC(), rest, nil
	case rtJSON:
		v, rest, err := bytesVal()
		if err != nil {
			return nil, nil, err
		}
		var doc any
		if err := json.Unmarshal(v, &doc); err != nil {
			return nil, nil, err
		}
		return types.JSONDocument{Val: doc}, rest, nil
	case rtGeometry:
		v, rest, err := bytesVal()
		if err != nil {
			return nil, nil, err
		}
		g, _, err := types.GeometryType{}.Convert(context.Background(), append([]byte(nil), v...))
		return g, rest, err
	}
	return nil, nil, fmt.Errorf("%w: unknown tag %d", errCorruptRow, tag)
}
