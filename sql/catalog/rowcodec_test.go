package catalog

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"
)

func TestRowCodecRoundTrip(t *testing.T) {
	t.Parallel()
	row := gmssql.Row{
		nil, int8(-8), int16(-16), int32(-32), int64(-64), uint8(8), uint16(16), uint32(32), uint64(1 << 63),
		float32(1.5), float64(-2.25), "héllo\x00", []byte{0, 1, 2}, []byte{},
		decimal.RequireFromString("-12.50"), time.Date(2026, 11, 25, 12, 0, 0, 123456000, time.UTC),
		types.Timespan(-3600000000), true,
		types.JSONDocument{Val: map[string]any{"a": []any{1.0, "x"}}},
	}
	enc, err := encodeRow(nil, row)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRow(enc, len(row))
	if err != nil {
		t.Fatal(err)
	}
	for i := range row {
		if d, ok := row[i].(decimal.Decimal); ok {
			if gd := got[i].(decimal.Decimal); !gd.Equal(d) || gd.Exponent() != d.Exponent() {
				t.Errorf("col %d: %v, want %v (scale kept)", i, got[i], row[i])
			}
			continue
		}
		if !reflect.DeepEqual(got[i], row[i]) {
			t.Errorf("col %d: %#v, want %#v", i, got[i], row[i])
		}
	}
	// One column alone (decodeColumn) is the same value, every kind
	// before it stepped over.
	for i := range row {
		v, ok, err := decodeColumn(enc, i)
		if err != nil || !ok || !reflect.DeepEqual(v, got[i]) {
			t.Errorf("decodeColumn %d: %#v %v %v, want %#v", i, v, ok, err, got[i])
		}
	}
	if _, ok, err := decodeColumn(enc, len(row)); ok || err != nil {
		t.Errorf("decodeColumn past the last column: ok %v, err %v", ok, err)
	}
	for cut := 1; cut < len(enc)-1; cut++ {
		if _, _, err := decodeColumn(enc[:cut], len(row)-1); err == nil {
			t.Fatalf("decodeColumn of a truncated row (%d of %d bytes): no error", cut, len(enc))
		}
	}
	// Narrower and wider schemas (rows written before or after a column
	// change) decode without error.
	if r, err := decodeRow(enc, 3); err != nil || len(r) != 3 {
		t.Fatalf("narrow: %v %v", r, err)
	}
	if r, err := decodeRow(enc, len(row)+2); err != nil || r[len(row)+1] != nil {
		t.Fatalf("wide: %v %v", r, err)
	}
	for cut := 0; cut < len(enc)-1; cut++ {
		if _, err := decodeRow(enc[:cut], len(row)); err == nil {
			t.Fatalf("truncated row (%d of %d bytes) decoded", cut, len(enc))
		}
	}
}

// TestDecodeRowColumns: decoding only some columns gives those columns'
// values exactly, whatever is stepped over, and still rejects a truncated
// row.
func TestDecodeRowColumns(t *testing.T) {
	t.Parallel()
	row := gmssql.Row{int64(7), "skipped string", []byte{9, 9}, "kept", nil, decimal.RequireFromString("1.5"), []byte{}, "", uint64(3)}
	enc, err := encodeRow(nil, row)
	if err != nil {
		t.Fatal(err)
	}
	full, err := decodeRow(enc, len(row))
	if err != nil {
		t.Fatal(err)
	}
	for mask := 0; mask < 1<<len(row); mask++ {
		need := make([]bool, len(row))
		for i := range need {
			need[i] = mask&(1<<i) != 0
		}
		got, err := decodeRowColumns(enc, len(row), need)
		if err != nil {
			t.Fatalf("mask %b: %v", mask, err)
		}
		for i := range row {
			if need[i] && !reflect.DeepEqual(got[i], full[i]) {
				t.Fatalf("mask %b col %d: %#v, want %#v", mask, i, got[i], full[i])
			}
		}
	}
	need := make([]bool, len(row))
	for cut := 0; cut < len(enc)-1; cut++ {
		if _, err := decodeRowColumns(enc[:cut], len(row), need); err == nil {
			t.Fatalf("truncated row (%d of %d bytes) decoded", cut, len(enc))
		}
	}
}

// TestRowColumns: a row cut into Columns reads back, column by column,
// exactly what decodeRow decodes (every kind of value, each stepped over
// by its encoded length); the integer and string accessors agree with
// the decoded values and refuse other kinds; a shorter row's missing
// columns read NULL; a truncated row is rejected.
func TestRowColumns(t *testing.T) {
	t.Parallel()
	row := gmssql.Row{
		nil, int8(-8), int16(-16), int32(-32), int64(-64), -7, uint8(8), uint16(16), uint32(32), uint64(1 << 63),
		float32(1.5), float64(-2.25), "héllo\x00", "", []byte{0, 1, 2}, []byte{},
		decimal.RequireFromString("-12.50"), time.Date(2026, 11, 25, 12, 0, 0, 123456000, time.UTC),
		types.Timespan(-3600000000), true,
		types.JSONDocument{Val: map[string]any{"a": []any{1.0, "x"}}}, int64(1),
	}
	enc, err := encodeRow(nil, row)
	if err != nil {
		t.Fatal(err)
	}
	want, err := decodeRow(enc, len(row)+2)
	if err != nil {
		t.Fatal(err)
	}
	cols := make([]Column, len(row)+2)
	if err := RowColumns(enc, nil, cols); err != nil {
		t.Fatal(err)
	}
	for i, c := range cols {
		v, err := c.Value()
		if err != nil || !reflect.DeepEqual(fmt.Sprint(v), fmt.Sprint(want[i])) {
			t.Errorf("col %d: %#v (%v), want %#v", i, v, err, want[i])
		}
		if c.IsNull() != (want[i] == nil) {
			t.Errorf("col %d: IsNull %v", i, c.IsNull())
		}
		n, okInt := c.Int()
		u, okUint := c.Uint()
		s, okStr := c.Str()
		switch w := want[i].(type) {
		case int8, int16, int32, int64, int:
			if !okInt || fmt.Sprint(n) != fmt.Sprint(w) || okUint || okStr {
				t.Errorf("col %d: Int %d %v", i, n, okInt)
			}
		case uint8, uint16, uint32, uint64:
			if !okUint || fmt.Sprint(u) != fmt.Sprint(w) || okInt || okStr {
				t.Errorf("col %d: Uint %d %v", i, u, okUint)
			}
		case string:
			if !okStr || string(s) != w || okInt || okUint {
				t.Errorf("col %d: Str %q %v", i, s, okStr)
			}
		default:
			if okInt || okUint || okStr {
				t.Errorf("col %d (%T): an accessor took it", i, w)
			}
		}
	}
	// need leaves the other columns as they were.
	some := make([]Column, len(row))
	need := make([]bool, len(row))
	need[4], need[12] = true, true
	if err := RowColumns(enc, need, some); err != nil {
		t.Fatal(err)
	}
	if v, _ := some[4].Int(); v != -64 || some[3].enc != nil {
		t.Errorf("need: %v %v", some[4], some[3])
	}
	for cut := 0; cut < len(enc)-1; cut++ {
		if err := RowColumns(enc[:cut], nil, cols); err == nil {
			t.Fatalf("truncated row (%d of %d bytes) cut", cut, len(enc))
		}
	}
}
