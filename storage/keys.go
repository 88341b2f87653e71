package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/shopspring/decimal"
)

// Key layout. Every key starts with a one-byte keyspace prefix.
//
//	m<name>                                   meta, unversioned (format version, applied head)
//	s<name tuple><^seq>                       system keyspace: catalog, users, counters
//	t<table id:8><primary key tuple><^seq>    row versions; value is an encoded row or a tombstone
//	i<table id:8><index id:4><tuple><^seq>    secondary index entries; value is the row's primary key tuple
//	c<user key>                               the newest version of an s, t or i key (current.go)
//
// A tuple is a sequence of self-delimiting, order-preserving value encodings
// (see AppendKeyValue), so that no encoded tuple is a prefix of another one of
// the same index and byte order equals SQL order for the supported types.
// The version suffix is the big-endian complement of the sequence number:
// newer versions of a user key sort before older ones.
const (
	prefixMeta   = 'm'
	prefixSystem = 's'
	prefixTable  = 't'
	prefixIndex  = 'i'
)

const versionLen = 8

// Key value tags, in SQL sort order: NULL sorts first, as in MySQL.
const (
	tagNull    = 0x01
	tagInt     = 0x03
	tagUint    = 0x04
	tagFloat   = 0x05
	tagDecimal = 0x06
	tagBytes   = 0x07
	tagTime    = 0x08
)

// ErrUnsupportedKeyType is returned for values that cannot be part of a key.
var ErrUnsupportedKeyType = errors.New("storage: unsupported key type")

// TablePrefix returns the user-key prefix of all rows of table id.
func TablePrefix(tableID uint64) []byte {
	return AppendTablePrefix(make([]byte, 0, 9), tableID)
}

// AppendTablePrefix appends TablePrefix(tableID) to dst.
func AppendTablePrefix(dst []byte, tableID uint64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, prefixTable), tableID)
}

// IndexPrefix returns the user-key prefix of all entries of one index.
func IndexPrefix(tableID uint64, indexID uint32) []byte {
	k := make([]byte, 0, 13)
	k = append(k, prefixIndex)
	k = binary.BigEndian.AppendUint64(k, tableID)
	return binary.BigEndian.AppendUint32(k, indexID)
}

// SystemKey returns the user key of a system keyspace entry.
func SystemKey(name string) []byte {
	return AppendKeyString([]byte{prefixSystem}, name)
}

// SystemPrefix returns the user-key prefix of system entries whose names
// start with namePrefix (the name is not terminated).
func SystemPrefix(namePrefix string) []byte {
	k := []byte{prefixSystem, tagBytes}
	return appendEscaped(k, []byte(namePrefix))
}

// PrefixEnd returns the smallest key greater than every key with prefix p.
func PrefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}

// appendVersion appends the versioned key of userKey at seq to dst.
func appendVersion(dst, userKey []byte, seq uint64) []byte {
	dst = append(dst, userKey...)
	return binary.BigEndian.AppendUint64(dst, ^seq)
}

func splitVersion(k []byte) (userKey []byte, seq uint64, ok bool) {
	if len(k) < versionLen+1 {
		return nil, 0, false
	}
	n := len(k) - versionLen
	return k[:n], ^binary.BigEndian.Uint64(k[n:]), true
}

// AppendKeyString appends the key encoding of a string.
func AppendKeyString(dst []byte, s string) []byte {
	dst = append(dst, tagBytes)
	dst = appendEscaped(dst, []byte(s))
	return append(dst, 0x00, 0x01)
}

func appendEscaped(dst, b []byte) []byte {
	for _, c := range b {
		if c == 0x00 {
			dst = append(dst, 0x00, 0xff)
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// AppendKeyValue appends the order-preserving encoding of v, which must
// already be converted to its column's Go type.
func AppendKeyValue(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, tagNull), nil
	case int8:
		return appendKeyInt(dst, int64(x)), nil
	case int16:
		return appendKeyInt(dst, int64(x)), nil
	case int32:
		return appendKeyInt(dst, int64(x)), nil
	case int64:
		return appendKeyInt(dst, x), nil
	case int:
		return appendKeyInt(dst, int64(x)), nil
	case bool:
		if x {
			return appendKeyInt(dst, 1), nil
		}
		return appendKeyInt(dst, 0), nil
	case uint8:
		return appendKeyUint(dst, uint64(x)), nil
	case uint16:
		return appendKeyUint(dst, uint64(x)), nil
	case uint32:
		return appendKeyUint(dst, uint64(x)), nil
	case uint64:
		return appendKeyUint(dst, x), nil
	case float32:
		return appendKeyFloat(dst, float64(x)), nil
	case float64:
		return appendKeyFloat(dst, x), nil
	case string:
		return AppendKeyString(dst, x), nil
	case []byte:
		dst = append(dst, tagBytes)
		dst = appendEscaped(dst, x)
		return append(dst, 0x00, 0x01), nil
	case decimal.Decimal:
		return appendKeyDecimal(dst, x), nil
	case time.Time:
		dst = append(dst, tagTime)
		dst = binary.BigEndian.AppendUint64(dst, uint64(x.Unix())^(1<<63))
		return binary.BigEndian.AppendUint32(dst, uint32(x.Nanosecond())), nil
	}
	if i, ok := asInt64(v); ok {
		return appendKeyInt(dst, i), nil
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupportedKeyType, v)
}

// asInt64 covers named integer types such as types.Timespan.
func asInt64(v any) (int64, bool) {
	type int64er interface{ AsMicroseconds() int64 }
	if t, ok := v.(int64er); ok {
		return t.AsMicroseconds(), true
	}
	return 0, false
}

func appendKeyInt(dst []byte, i int64) []byte {
	dst = append(dst, tagInt)
	return binary.BigEndian.AppendUint64(dst, uint64(i)^(1<<63))
}

func appendKeyUint(dst []byte, u uint64) []byte {
	dst = append(dst, tagUint)
	return binary.BigEndian.AppendUint64(dst, u)
}

func appendKeyFloat(dst []byte, f float64) []byte {
	if f == 0 {
		f = 0 // fold -0 into +0
	}
	b := math.Float64bits(f)
	if b&(1<<63) != 0 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	dst = append(dst, tagFloat)
	return binary.BigEndian.AppendUint64(dst, b)
}

// appendKeyDecimal encodes d as sign, then (for non-zero values) the decimal
// exponent and the significant digits, complemented for negative values.
func appendKeyDecimal(dst []byte, d decimal.Decimal) []byte {
	dst = append(dst, tagDecimal)
	sign := d.Sign()
	if sign == 0 {
		return append(dst, 0x01)
	}
	coef := new(big.Int).Abs(d.Coefficient()).String()
	exp := int64(d.Exponent())
	for len(coef) > 1 && coef[len(coef)-1] == '0' {
		coef = coef[:len(coef)-1]
		exp++
	}
	// value = 0.<coef> * 10^e
	e := exp + int64(len(coef))
	body := binary.BigEndian.AppendUint32(nil, uint32(int32(e))^(1<<31))
	body = append(body, coef...)
	body = append(body, 0x00)
	if sign > 0 {
		dst = append(dst, 0x02)
		return append(dst, body...)
	}
	dst = append(dst, 0x00)
	for _, c := range body {
		dst = append(dst, ^c)
	}
	return dst
}
