package pgwire_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestIntegerResultTypes: integer results carry the OIDs PostgreSQL
// gives them (int2 21, int4 23, int8 20), in every query mode (binary
// results in the extended ones), and scan into int16/int32.
func TestIntegerResultTypes(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	setup := connect(t, s, pgx.QueryExecModeSimpleProtocol)
	mustExec(t, setup, `CREATE TABLE nums (id SERIAL PRIMARY KEY, i INTEGER, s SMALLINT, b BIGINT)`)
	mustExec(t, setup, `INSERT INTO nums (i, s, b) VALUES (10, 2, 3000000000), (20, 4, 5)`)
	const q = `SELECT 1::int, 2::smallint, 3::bigint, 4, i, s, b, count(*) OVER (), i + 1, s * s, sum(i) OVER (), '6'::int4, CAST(b AS integer) FROM nums WHERE id = 2`
	want := []uint32{23, 21, 20, 23, 23, 21, 20, 20, 23, 21, 20, 23, 23}
	for _, m := range []struct {
		name string
		mode pgx.QueryExecMode
	}{
		{"extended", pgx.QueryExecModeCacheStatement},
		{"describe", pgx.QueryExecModeDescribeExec},
		{"simple", pgx.QueryExecModeSimpleProtocol},
	} {
		t.Run(m.name, func(t *testing.T) {
			c := connect(t, s, m.mode)
			rows, err := c.Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			fds := rows.FieldDescriptions()
			for i, fd := range fds {
				if i < len(want) && fd.DataTypeOID != want[i] {
					t.Errorf("column %d (%s): OID %d, want %d", i+1, fd.Name, fd.DataTypeOID, want[i])
				}
			}
			if !rows.Next() {
				t.Fatalf("no row: %v", rows.Err())
			}
			var (
				one, four, i, i1, six, cb int32
				two, sv, ss               int16
				three, b, cnt, sum        int64
			)
			if err := rows.Scan(&one, &two, &three, &four, &i, &sv, &b, &cnt, &i1, &ss, &sum, &six, &cb); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			got := []int64{int64(one), int64(two), three, int64(four), int64(i), int64(sv), b, cnt, int64(i1), int64(ss), sum, int64(six), int64(cb)}
			exp := []int64{1, 2, 3, 4, 20, 4, 5, 1, 21, 16, 20, 6, 5}
			for k := range exp {
				if got[k] != exp[k] {
					t.Errorf("values %v, want %v", got, exp)
					break
				}
			}
			// / between integers is integer division, inside an
			// expression too.
			var q3, q6 int32
			if err := c.QueryRow(ctx, `SELECT (i / 3) * 3, (s + i) / 4 FROM nums WHERE id = 2`).Scan(&q3, &q6); err != nil || q3 != 18 || q6 != 6 {
				t.Errorf("integer division: %d %d %v, want 18 6", q3, q6, err)
			}
			// A value out of the type's range fails as in PostgreSQL.
			for _, bad := range []string{`SELECT b::int FROM nums WHERE id = 1`, `SELECT 40000::smallint`} {
				var v int32
				if err := c.QueryRow(ctx, bad).Scan(&v); sqlState(err) != "22003" {
					t.Errorf("%s: %v (SQLSTATE %q), want 22003", bad, err, sqlState(err))
				}
			}
		})
	}
}
