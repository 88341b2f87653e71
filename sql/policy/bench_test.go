package policy

import (
	"testing"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"

	"github.com/cofferdb/coffer/charter"
)

// BenchmarkAllow is the per-row cost of the banks policy.
func BenchmarkAllow(b *testing.B) {
	sch := gmssql.Schema{
		{Name: "id", Type: types.Int32},
		{Name: "bank", Type: types.Text},
		{Name: "amount", Type: types.MustCreateDecimalType(12, 2)},
	}
	ps := []charter.Policy{{Name: "by_bank", Table: "db.t", Command: "ALL", Using: "row.bank == principal.attributes.bank"}}
	var c Cache
	tbl := c.Table("db.t", ps, Key(ps), sch, SchemaKey(sch))
	f := tbl.Read(&Principal{Name: "alice", Attributes: map[string]any{"bank": "A"}}, Select)
	row := gmssql.Row{int32(1), "A", decimal.NewFromInt(5)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !f.Allow(row) {
			b.Fatal("denied")
		}
	}
}
