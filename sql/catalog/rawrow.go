package catalog

import (
	"encoding/binary"
	"fmt"
)

// Column is one stored value of a row, not decoded: a reader that only
// passes a value on (sql/engine's range selects, which write integers and
// strings straight into wire values) reads it in place instead of building
// the Go value decodeRow would. A Column is valid as long as the row
// encoding it was cut from.
type Column struct {
	enc []byte // the value's whole encoding, tag first
}

// nullColumn is what a column missing from a shorter, older row reads as.
var nullColumn = Column{enc: []byte{rtNull}}

// IsNull reports whether the value is SQL NULL.
func (c Column) IsNull() bool { return c.enc[0] == rtNull }

// Int returns a signed integer value (Go int8 … int64 or int); ok is
// false for any other kind of value.
func (c Column) Int() (v int64, ok bool) {
	switch c.enc[0] {
	case rtInt8, rtInt16, rtInt32, rtInt64, rtInt:
		v, k := binary.Varint(c.enc[1:])
		return v, k > 0
	}
	return 0, false
}

// Uint returns an unsigned integer value; ok is false for any other kind.
func (c Column) Uint() (v uint64, ok bool) {
	switch c.enc[0] {
	case rtUint8, rtUint16, rtUint32, rtUint64:
		v, k := binary.Uvarint(c.enc[1:])
		return v, k > 0
	}
	return 0, false
}

// Str returns the bytes of a string value (the Go string go-mysql-server
// stored for a CHAR, VARCHAR or TEXT column); ok is false for any other
// kind. The bytes are the row encoding's own.
func (c Column) Str() (b []byte, ok bool) {
	if c.enc[0] != rtString {
		return nil, false
	}
	n, k := binary.Uvarint(c.enc[1:])
	return c.enc[1+k : 1+k+int(n)], true
}

// Value decodes the value as decodeRow would.
func (c Column) Value() (any, error) {
	v, _, err := decodeValue(c.enc)
	return v, err
}

// RowColumns cuts an encoded row into out, one Column per column of a
// schema len(out) wide (a shorter row's missing columns read NULL; a
// longer row's extra values are ignored). need marks the columns the
// caller reads (nil: all); the others are left as they were.
func RowColumns(b []byte, need []bool, out []Column) error {
	if len(b) < 1 || b[0] != rowFormatV1 {
		return errCorruptRow
	}
	b = b[1:]
	count, k := binary.Uvarint(b)
	if k <= 0 {
		return errCorruptRow
	}
	b = b[k:]
	i := 0
	for ; i < int(count) && i < len(out); i++ {
		n, err := valueLen(b)
		if err != nil {
			return err
		}
		if need == nil || need[i] {
			out[i] = Column{enc: b[:n:n]}
		}
		b = b[n:]
	}
	for ; i < len(out); i++ {
		out[i] = nullColumn
	}
	return nil
}

// valueLen returns the length of the value encoding b starts with, tag
// included, without decoding it.
func valueLen(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, errCorruptRow
	}
	n := 1
	varint := func() error {
		_, k := binary.Uvarint(b[n:]) // a varint's length is that of its zigzag uvarint
		if k <= 0 {
			return errCorruptRow
		}
		n += k
		return nil
	}
	fixed := func(w int) error {
		if len(b)-n < w {
			return errCorruptRow
		}
		n += w
		return nil
	}
	lenPrefixed := func() error {
		l, k := binary.Uvarint(b[n:])
		if k <= 0 || uint64(len(b)-n-k) < l {
			return errCorruptRow
		}
		n += k + int(l)
		return nil
	}
	var err error
	switch b[0] {
	case rtNull:
	case rtInt8, rtInt16, rtInt32, rtInt64, rtInt, rtTimespan, rtUint8, rtUint16, rtUint32, rtUint64:
		err = varint()
	case rtBool:
		err = fixed(1)
	case rtFloat32:
		err = fixed(4)
	case rtFloat64:
		err = fixed(8)
	case rtString, rtBytes, rtJSON, rtGeometry:
		err = lenPrefixed()
	case rtDecimal:
		if err = varint(); err == nil {
			err = lenPrefixed()
		}
	case rtTime:
		if err = varint(); err == nil {
			err = varint()
		}
	default:
		return 0, fmt.Errorf("%w: unknown tag %d", errCorruptRow, b[0])
	}
	return n, err
}
