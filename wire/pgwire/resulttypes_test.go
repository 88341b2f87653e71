package pgwire

import (
	"slices"
	"testing"
)

func TestResultTypes(t *testing.T) {
	t.Parallel()
	// t(a INTEGER, b SMALLINT, c BIGINT, s TEXT)
	lookup := func(table, col string) uint32 {
		if table != "t" {
			return 0
		}
		return map[string]uint32{"a": oidInt4, "b": oidInt2, "c": oidInt8, "s": oidText}[col]
	}
	const (
		i2 = oidInt2
		i4 = oidInt4
		i8 = oidInt8
	)
	for _, tc := range []struct {
		in   string
		want []uint32
	}{
		{`SELECT 1`, []uint32{i4}},
		{`SELECT 3000000000, 1.5`, []uint32{i8, 0}},
		{`SELECT 1::int, x::smallint, '7'::int8, 2::integer::text, CAST(b AS int4)`, []uint32{i4, i2, i8, 0, i4}},
		{`SELECT a, b, s FROM t`, nil},
		{`SELECT a + 1, b * b, -b, c - a, a / 2, a % 3, s || 'x' FROM t`, []uint32{i4, i2, i2, i8, i4, i4, 0}},
		{`SELECT x.b + 1 FROM t AS x JOIN u ON true`, []uint32{i4}},
		{`SELECT count(*), sum(a), sum(c), max(b), abs(b), length(s), row_number() OVER () FROM t`, []uint32{i8, i8, 0, i2, i2, i4, i8}},
		{`SELECT coalesce(b, 0), CASE WHEN a > 0 THEN b ELSE NULL END, greatest(a, c) FROM t`, []uint32{i4, i2, i8}},
		{`SELECT 1 UNION SELECT 3000000000`, []uint32{i8}},
		{`SELECT n FROM (SELECT 1::smallint AS n) AS q`, []uint32{i2}},
		{`SELECT n, m + 1 FROM (SELECT b AS n, a AS m FROM t) AS q`, []uint32{i2, i4}},
		{`WITH q AS (SELECT a::int8 AS n FROM t) SELECT n, n + 1 FROM q`, []uint32{i8, i8}},
		{`SELECT (SELECT count(*) FROM t)`, []uint32{i8}},
		{`VALUES (1, 'a'), (2, 'b')`, []uint32{i4, 0}},
		{`SELECT 1::int, *, 2 FROM t`, []uint32{i4}},
		{`INSERT INTO t (a) VALUES (1) RETURNING a, a::int8`, []uint32{0, i8}},
	} {
		st, err := translate(tc.in, "admin", lookup)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got := st[0].resultTypes; !slices.Equal(got, tc.want) {
			t.Errorf("%s: result types %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestToPGInt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    any
		oid  uint32
		want any
		code string
	}{
		{int64(7), oidInt4, int32(7), ""},
		{int8(-3), oidInt2, int16(-3), ""},
		{float64(42), oidInt8, int64(42), ""},
		{int64(1) << 31, oidInt4, nil, codeNumericOutOfRange},
		{int64(40000), oidInt2, nil, codeNumericOutOfRange},
		{uint64(1) << 63, oidInt8, nil, codeNumericOutOfRange},
		{"12", oidInt4, int32(12), ""},
		{"x", oidInt4, nil, codeInvalidText},
	} {
		got, perr := toPGInt(tc.v, tc.oid)
		code := ""
		if perr != nil {
			code = perr.Code
		}
		if got != tc.want || code != tc.code {
			t.Errorf("toPGInt(%v, %d) = %v, %v; want %v, %s", tc.v, tc.oid, got, perr, tc.want, tc.code)
		}
	}
}

// TestIntegerDivision: / between integers (constants, casts, integer
// columns) is integer division, as in PostgreSQL, also inside a larger
// expression.
func TestIntegerDivision(t *testing.T) {
	t.Parallel()
	lookup := func(table, col string) uint32 {
		return map[string]uint32{"a": oidInt4, "b": oidInt8, "p": oidNumeric}[col]
	}
	for _, tc := range []struct{ in, want string }{
		{`SELECT (a / b) * 2 FROM t`, "SELECT ((`a` DIV `b`) * 2) AS `?column?` FROM `t`"},
		{`SELECT a / 2.0, p / a FROM t`, "SELECT (`a` / 2.0) AS `?column?`, (`p` / `a`) AS `?column?` FROM `t`"},
		{`SELECT x.a / 3 FROM t AS x`, "SELECT (`x`.`a` DIV 3) AS `?column?` FROM `t` AS `x`"},
		{`SELECT 7 / '2'::int`, "SELECT (7 DIV CAST('2' AS SIGNED)) AS `?column?`"},
		{`UPDATE t SET a = a / 2 WHERE b / 2 > 1`, "UPDATE `t` SET `a` = (`a` DIV 2) WHERE ((`b` DIV 2) > 1)"},
		{`SELECT q.n / 2 FROM (SELECT a AS n FROM t) AS q`, "SELECT (`q`.`n` DIV 2) AS `?column?` FROM (SELECT `a` AS `n` FROM `t`) AS `q`"},
	} {
		st, err := translate(tc.in, "admin", lookup)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if st[0].sql != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.in, st[0].sql, tc.want)
		}
	}
}
