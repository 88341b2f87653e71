package pgwire

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/shopspring/decimal"
)

// PostgreSQL type OIDs the wire reports.
const (
	oidBool        = 16
	oidBytea       = 17
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidOID         = 26
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidUnknown     = 705
	oidBPChar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidInterval    = 1186
	oidNumeric     = 1700
	oidUUID        = 2950
	oidJSONB       = 3802
)

// typeOID maps an engine type to the PostgreSQL type a client expects.
func typeOID(t gmssql.Type) uint32 {
	if t == nil {
		return oidText
	}
	if types.IsBoolean(t) || strings.EqualFold(t.String(), "tinyint(1)") {
		return oidBool
	}
	switch t.Type() {
	case sqltypes.Int8, sqltypes.Int16, sqltypes.Uint8:
		return oidInt2
	case sqltypes.Int24, sqltypes.Int32, sqltypes.Uint16, sqltypes.Uint24:
		return oidInt4
	case sqltypes.Int64, sqltypes.Uint32, sqltypes.Year, sqltypes.Bit:
		return oidInt8
	case sqltypes.Uint64, sqltypes.Decimal:
		return oidNumeric
	case sqltypes.Float32:
		return oidFloat4
	case sqltypes.Float64:
		return oidFloat8
	case sqltypes.Date:
		return oidDate
	case sqltypes.Time:
		return oidInterval
	case sqltypes.Datetime:
		return oidTimestamp
	case sqltypes.Timestamp:
		return oidTimestamptz
	case sqltypes.TypeJSON:
		return oidJSONB
	case sqltypes.Char:
		if st, ok := t.(gmssql.StringType); ok && st.MaxCharacterLength() == 36 {
			return oidUUID
		}
		return oidBPChar
	case sqltypes.VarChar:
		return oidVarchar
	case sqltypes.Binary, sqltypes.VarBinary, sqltypes.Blob:
		return oidBytea
	case sqltypes.Null:
		return oidText
	}
	return oidText
}

// typeSize is pg_type.typlen for the OIDs above (-1: variable).
func typeSize(oid uint32) int16 {
	switch oid {
	case oidBool:
		return 1
	case oidInt2:
		return 2
	case oidInt4, oidFloat4, oidDate, oidOID:
		return 4
	case oidInt8, oidFloat8, oidTimestamp, oidTimestamptz, oidTime:
		return 8
	case oidUUID, oidInterval:
		return 16
	}
	return -1
}

// typeModifier is PostgreSQL's atttypmod for a result column: the length
// of varchar(n) and char(n) and the precision and scale of numeric(p,s),
// plus 4; -1 otherwise. Drivers report it (psycopg2's internal_size,
// which Django's introspection reads).
func typeModifier(t gmssql.Type, oid uint32) int32 {
	switch oid {
	case oidVarchar, oidBPChar:
		if st, ok := t.(gmssql.StringType); ok && st.MaxCharacterLength() > 0 && st.MaxCharacterLength() < 1<<24 {
			return int32(st.MaxCharacterLength()) + 4
		}
	case oidNumeric:
		if dt, ok := t.(gmssql.DecimalType); ok {
			return (int32(dt.Precision())<<16 | int32(dt.Scale())) + 4
		}
	}
	return -1
}

// encodeText renders v of engine type t in PostgreSQL's text format.
func encodeText(ctx *gmssql.Context, t gmssql.Type, oid uint32, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	switch oid {
	case oidBool:
		b, ok := asBool(v)
		if ok {
			if b {
				return []byte("t"), nil
			}
			return []byte("f"), nil
		}
	case oidBytea:
		var raw []byte
		switch x := v.(type) {
		case []byte:
			raw = x
		case string:
			raw = []byte(x)
		}
		if raw != nil {
			out := make([]byte, 2+hex.EncodedLen(len(raw)))
			copy(out, `\x`)
			hex.Encode(out[2:], raw)
			return out, nil
		}
	case oidTimestamptz:
		if tm, ok := v.(time.Time); ok {
			return []byte(tm.UTC().Format("2006-01-02 15:04:05.999999") + "+00"), nil
		}
	case oidTimestamp:
		if tm, ok := v.(time.Time); ok {
			return []byte(tm.Format("2006-01-02 15:04:05.999999")), nil
		}
	case oidDate:
		if tm, ok := v.(time.Time); ok {
			return []byte(tm.Format("2006-01-02")), nil
		}
	}
	if t != nil {
		sv, err := t.SQL(ctx, nil, v)
		if err == nil {
			if sv.IsNull() {
				return nil, nil
			}
			return sv.ToBytes(), nil
		}
	}
	return []byte(fmt.Sprint(v)), nil
}

func asBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int8:
		return x != 0, true
	case int16:
		return x != 0, true
	case int32:
		return x != 0, true
	case int64:
		return x != 0, true
	case int:
		return x != 0, true
	case uint8:
		return x != 0, true
	case uint64:
		return x != 0, true
	case float64:
		return x != 0, true
	case decimal.Decimal:
		return !x.IsZero(), true
	}
	return false, false
}

// pgEpoch is 2000-01-01, the zero of PostgreSQL's binary dates and times.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// encodeBinary renders v in PostgreSQL's binary format for oid; it falls
// back to the text bytes for types whose binary form equals their text.
func encodeBinary(ctx *gmssql.Context, t gmssql.Type, oid uint32, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	txt, err := encodeText(ctx, t, oid, v)
	if err != nil {
		return nil, err
	}
	s := string(txt)
	switch oid {
	case oidBool:
		if s == "t" {
			return []byte{1}, nil
		}
		return []byte{0}, nil
	case oidInt2, oidInt4, oidInt8:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("pgwire: integer %q: %w", s, err)
		}
		switch oid {
		case oidInt2:
			return binary.BigEndian.AppendUint16(nil, uint16(n)), nil
		case oidInt4:
			return binary.BigEndian.AppendUint32(nil, uint32(n)), nil
		}
		return binary.BigEndian.AppendUint64(nil, uint64(n)), nil
	case oidFloat4, oidFloat8:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("pgwire: float %q: %w", s, err)
		}
		if oid == oidFloat4 {
			return binary.BigEndian.AppendUint32(nil, math.Float32bits(float32(f))), nil
		}
		return binary.BigEndian.AppendUint64(nil, math.Float64bits(f)), nil
	case oidBytea:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case oidTimestamp, oidTimestamptz:
		tm, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("pgwire: timestamp value %T", v)
		}
		if oid == oidTimestamp {
			tm = time.Date(tm.Year(), tm.Month(), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond(), time.UTC)
		}
		return binary.BigEndian.AppendUint64(nil, uint64(tm.Sub(pgEpoch).Microseconds())), nil
	case oidDate:
		tm, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("pgwire: date value %T", v)
		}
		d := time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC)
		return binary.BigEndian.AppendUint32(nil, uint32(int32(d.Sub(pgEpoch).Hours()/24))), nil
	case oidNumeric:
		return encodeNumericBinary(s)
	case oidJSONB:
		return append([]byte{1}, txt...), nil
	case oidUUID:
		b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
		if err != nil || len(b) != 16 {
			return nil, fmt.Errorf("pgwire: uuid %q", s)
		}
		return b, nil
	}
	return txt, nil
}

// decodeParam turns a bound parameter into the engine value it stands for.
// Text-format values of unknown type stay strings; the engine converts them
// where they are used.
func decodeParam(oid uint32, format int16, b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	if format == 0 {
		s := string(b)
		switch oid {
		case oidBool:
			switch strings.ToLower(s) {
			case "t", "true", "1", "yes", "on", "y":
				return true, nil
			}
			return false, nil
		case oidInt2, oidInt4, oidInt8, oidOID:
			return strconv.ParseInt(s, 10, 64)
		case oidFloat4, oidFloat8:
			return strconv.ParseFloat(s, 64)
		case oidBytea:
			if strings.HasPrefix(s, `\x`) {
				return hex.DecodeString(s[2:])
			}
			return b, nil
		}
		return s, nil
	}
	switch oid {
	case oidBool:
		return len(b) == 1 && b[0] != 0, nil
	case oidInt2:
		if len(b) == 2 {
			return int64(int16(binary.BigEndian.Uint16(b))), nil
		}
	case oidInt4, oidOID:
		if len(b) == 4 {
			return int64(int32(binary.BigEndian.Uint32(b))), nil
		}
	case oidInt8:
		if len(b) == 8 {
			return int64(binary.BigEndian.Uint64(b)), nil
		}
	case oidFloat4:
		if len(b) == 4 {
			return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
		}
	case oidFloat8:
		if len(b) == 8 {
			return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
		}
	case oidTimestamp, oidTimestamptz:
		if len(b) == 8 {
			return pgEpoch.Add(time.Duration(int64(binary.BigEndian.Uint64(b))) * time.Microsecond), nil
		}
	case oidDate:
		if len(b) == 4 {
			return pgEpoch.AddDate(0, 0, int(int32(binary.BigEndian.Uint32(b)))), nil
		}
	case oidUUID:
		if len(b) == 16 {
			h := hex.EncodeToString(b)
			return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
		}
	case oidBytea:
		return b, nil
	case oidText, oidVarchar, oidBPChar, oidName, oidJSON, oidUnknown, 0:
		return string(b), nil
	case oidJSONB:
		if len(b) > 0 && b[0] == 1 {
			return string(b[1:]), nil
		}
	}
	return nil, newError(codeFeatureNotSupported, fmt.Sprintf("binary parameter of type oid %d (%d bytes) is not supported; send it in text format", oid, len(b)))
}
