package policy

import (
	"fmt"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	gmstypes "github.com/dolthub/go-mysql-server/sql/types"
	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/shopspring/decimal"
)

// kind is how a SQL column is seen from CEL.
type kind uint8

const (
	kindInt kind = iota
	kindUint
	kindDouble
	kindString
	kindBytes
	kindBool
	kindTimestamp
	kindDyn
)

// columnKind maps a SQL type to its CEL kind:
//
//	TINYINT(1) / BOOLEAN                      → bool (non-zero is true)
//	signed integers, YEAR                     → int
//	unsigned integers, BIT                    → uint
//	FLOAT, DOUBLE, DECIMAL                    → double (DECIMAL is rounded to the nearest double)
//	CHAR, VARCHAR, TEXT, ENUM, SET            → string
//	BINARY, VARBINARY, BLOB                   → bytes
//	DATE, DATETIME, TIMESTAMP                 → google.protobuf.Timestamp (UTC)
//	JSON, TIME, anything else                 → dyn
func columnKind(t gmssql.Type) kind {
	switch {
	case gmstypes.IsJSON(t):
		return kindDyn
	case t.String() == "tinyint(1)":
		return kindBool
	case gmstypes.IsYear(t):
		return kindInt
	case gmstypes.IsBit(t):
		return kindUint
	case gmstypes.IsUnsigned(t):
		return kindUint
	case gmstypes.IsSigned(t):
		return kindInt
	case gmstypes.IsFloat(t), gmstypes.IsDecimal(t):
		return kindDouble
	case gmstypes.IsEnum(t), gmstypes.IsSet(t):
		return kindString
	case gmstypes.IsBinaryType(t):
		return kindBytes
	case gmstypes.IsText(t):
		return kindString
	case gmstypes.IsTime(t):
		return kindTimestamp
	}
	return kindDyn
}

func (k kind) celType() *cel.Type {
	switch k {
	case kindInt:
		return cel.IntType
	case kindUint:
		return cel.UintType
	case kindDouble:
		return cel.DoubleType
	case kindString:
		return cel.StringType
	case kindBytes:
		return cel.BytesType
	case kindBool:
		return cel.BoolType
	case kindTimestamp:
		return cel.TimestampType
	}
	return cel.DynType
}

// fieldType is the CEL type of a column: nullable columns admit null.
func fieldType(c *gmssql.Column) *cel.Type {
	k := columnKind(c.Type)
	t := k.celType()
	if c.Nullable && k != kindDyn {
		return types.NewNullableType(t)
	}
	return t
}

// toCEL converts a stored column value to its CEL value.
func toCEL(k kind, t gmssql.Type, v any) ref.Val {
	if v == nil {
		return types.NullValue
	}
	switch k {
	case kindInt:
		if i, ok := asInt64(v); ok {
			return types.Int(i)
		}
	case kindUint:
		if u, ok := asUint64(v); ok {
			return types.Uint(u)
		}
	case kindBool:
		if i, ok := asInt64(v); ok {
			return types.Bool(i != 0)
		}
		if b, ok := v.(bool); ok {
			return types.Bool(b)
		}
	case kindDouble:
		switch x := v.(type) {
		case float64:
			return types.Double(x)
		case float32:
			return types.Double(x)
		case decimal.Decimal:
			return types.Double(x.InexactFloat64())
		case decimal.NullDecimal:
			if !x.Valid {
				return types.NullValue
			}
			return types.Double(x.Decimal.InexactFloat64())
		}
	case kindString:
		switch x := v.(type) {
		case string:
			return types.String(x)
		case []byte:
			return types.String(x)
		case uint16:
			if e, ok := t.(gmssql.EnumType); ok {
				s, _ := e.At(int(x))
				return types.String(s)
			}
		case uint64:
			if s, ok := t.(gmssql.SetType); ok {
				str, err := s.BitsToString(x)
				if err == nil {
					return types.String(str)
				}
			}
		}
	case kindBytes:
		switch x := v.(type) {
		case []byte:
			return types.Bytes(x)
		case string:
			return types.Bytes(x)
		}
	case kindTimestamp:
		if x, ok := v.(time.Time); ok {
			return types.Timestamp{Time: x.UTC()}
		}
	case kindDyn:
		if w, ok := v.(gmssql.JSONWrapper); ok {
			if x, err := w.ToInterface(); err == nil {
				return types.DefaultTypeAdapter.NativeToValue(x)
			}
		}
		switch x := v.(type) {
		case time.Duration, string, []byte, int64, uint64, float64, bool:
			return types.DefaultTypeAdapter.NativeToValue(x)
		}
		return types.String(fmt.Sprint(v))
	}
	return types.NewErr("policy: cannot convert %T for CEL", v)
}

func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func asUint64(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case uint:
		return uint64(x), true
	}
	return 0, false
}
