package engine

import (
	"fmt"
	"reflect"
	"testing"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

// TestConvertIdentityMatchesConvert: wherever convertIdentity answers,
// go-mysql-server's Convert gives the same value of the same Go type, in
// range and without error; and it answers for the common cases.
func TestConvertIdentityMatchesConvert(t *testing.T) {
	ctx := gmssql.NewEmptyContext()
	str := func(base querypb.Type, n int64, coll gmssql.CollationID) gmssql.Type {
		return types.MustCreateString(base, n, coll)
	}
	typs := []gmssql.Type{
		types.Int64, types.Uint64, types.Int32, types.Int8,
		str(sqltypes.VarChar, 5, gmssql.Collation_utf8mb4_0900_bin),
		str(sqltypes.VarChar, 5, gmssql.Collation_Default),
		str(sqltypes.Char, 3, gmssql.Collation_Default),
		str(sqltypes.Text, 65535, gmssql.Collation_Default),
		types.TinyText,
		str(sqltypes.VarChar, 5, gmssql.Collation_latin1_swedish_ci),
		str(sqltypes.VarChar, 5, gmssql.Collation_utf8mb3_general_ci),
		types.MustCreateBinary(sqltypes.VarBinary, 5),
		types.MustCreateBinary(sqltypes.Binary, 3),
		types.Blob,
	}
	long := string(make([]byte, 300))
	vals := []any{
		int64(0), int64(7), int64(-1), int64(1 << 40), int64(-1 << 62),
		"", "abc", "abcde", "abcdef", "héllo", "héllo!", "日本語", "a  ", "\xff", "ab\xc3", long,
	}
	answered := map[string]bool{}
	for _, typ := range typs {
		for _, v := range vals {
			got, ok := convertIdentity(typ, v)
			if !ok {
				continue
			}
			answered[fmt.Sprintf("%T", v)] = true
			want, inRange, err := typ.Convert(ctx, v)
			if err != nil || inRange != gmssql.InRange || !reflect.DeepEqual(got, want) || reflect.TypeOf(got) != reflect.TypeOf(want) {
				t.Errorf("%s ← %q: identity %#v, Convert %#v (%v, %v)", typ, v, got, want, inRange, err)
			}
		}
	}
	for _, k := range []string{"int64", "string"} {
		if !answered[k] {
			t.Errorf("convertIdentity answered no %s", k)
		}
	}
	for _, c := range []struct {
		typ gmssql.Type
		v   any
	}{
		{types.Int64, int64(5)},
		{str(sqltypes.VarChar, 120, gmssql.Collation_Default), "pad"},
		{str(sqltypes.VarChar, 5, gmssql.Collation_Default), "héllo"},
		{types.Text, "x"},
	} {
		if _, ok := convertIdentity(c.typ, c.v); !ok {
			t.Errorf("%s ← %q: not answered", c.typ, c.v)
		}
	}
	for _, c := range []struct {
		typ gmssql.Type
		v   any
	}{
		{types.Uint64, int64(5)},
		{types.Int32, int64(5)},
		{str(sqltypes.VarChar, 5, gmssql.Collation_Default), "abcdef"},
		{str(sqltypes.VarChar, 5, gmssql.Collation_Default), "\xff"},
		{str(sqltypes.VarChar, 5, gmssql.Collation_latin1_swedish_ci), "abc"},
		{types.MustCreateBinary(sqltypes.VarBinary, 5), "abc"},
		{types.TinyText, long},
	} {
		if _, ok := convertIdentity(c.typ, c.v); ok {
			t.Errorf("%s ← %q: answered, want Convert's way", c.typ, c.v)
		}
	}
}

// TestIsIntegerMatchesTypes: isInteger answers as types.IsInteger for
// the integer types, BOOLEAN (TINYINT(1)), and other kinds of types.
func TestIsIntegerMatchesTypes(t *testing.T) {
	typs := []gmssql.Type{
		types.Int8, types.Int16, types.Int24, types.Int32, types.Int64, types.Boolean,
		types.Uint8, types.Uint16, types.Uint24, types.Uint32, types.Uint64,
		types.MustCreateNumberTypeWithDisplayWidth(sqltypes.Int8, 1), // TINYINT(1), the only width kept
		types.MustCreateNumberType(sqltypes.Int32),
		types.Float32, types.Float64, types.MustCreateDecimalType(10, 2),
		types.Text, types.Blob, types.Datetime, types.Year, types.MustCreateBitType(8),
		types.MustCreateEnumType([]string{"a"}, gmssql.Collation_Default),
	}
	integers := 0
	for _, typ := range typs {
		want := types.IsInteger(typ)
		if got := isInteger(typ); got != want {
			t.Errorf("%s: isInteger %v, types.IsInteger %v", typ, got, want)
		}
		if want {
			integers++
		}
	}
	if integers < 11 {
		t.Fatalf("only %d integer types among the cases", integers)
	}
}
