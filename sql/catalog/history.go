package catalog

import (
	"bytes"
	"strings"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/cofferdb/coffer/sql/policy"
	"github.com/cofferdb/coffer/storage"
)

// HistorySuffix names a table's history view: SELECT * FROM
// accounts__history lists every version of every row of accounts.
const HistorySuffix = "__history"

var opType = types.MustCreateStringWithDefaults(sqltypes.VarChar, 6)

// historyTable lists each row version of a table with the sequence that
// wrote it, its commit time and the operation (INSERT, UPDATE, DELETE; a
// DELETE shows the values the row had). It covers the table's current
// storage id: history before a rewriting ALTER or TRUNCATE is read with
// AS OF.
type historyTable struct {
	p    *Provider
	desc *tableDesc
	sch  gmssql.Schema
}

func newHistoryTable(p *Provider, d *tableDesc) *historyTable {
	base, _ := d.Schema()
	name := d.Name + HistorySuffix
	sch := gmssql.Schema{
		{Name: "coffer_seq", Type: types.Uint64, Source: name, DatabaseSource: d.Database},
		{Name: "coffer_committed_at", Type: types.DatetimeMaxPrecision, Source: name, DatabaseSource: d.Database},
		{Name: "coffer_op", Type: opType, Source: name, DatabaseSource: d.Database},
	}
	for _, c := range base.Schema {
		cc := *c
		cc.Source, cc.PrimaryKey, cc.AutoIncrement, cc.Nullable = name, false, false, true
		cc.Default, cc.Generated, cc.OnUpdate = nil, nil, nil
		sch = append(sch, &cc)
	}
	return &historyTable{p: p, desc: d, sch: sch}
}

func (h *historyTable) Name() string                  { return h.desc.Name + HistorySuffix }
func (h *historyTable) String() string                { return h.Name() }
func (h *historyTable) Schema() gmssql.Schema         { return h.sch }
func (h *historyTable) Collation() gmssql.CollationID { return gmssql.Collation_Default }

func (h *historyTable) Partitions(*gmssql.Context) (gmssql.PartitionIter, error) {
	return &partitionIter{p: &partition{}}, nil
}

type version struct {
	seq   uint64
	value []byte
}

// PartitionRows lists the versions; a version whose values the principal
// may not read (the table's SELECT policies, applied to the values the
// version shows) is left out, as its row would be.
func (h *historyTable) PartitionRows(ctx *gmssql.Context, _ gmssql.Partition) (gmssql.RowIter, error) {
	width := len(h.desc.Columns)
	base, err := h.desc.Schema()
	if err != nil {
		return nil, err
	}
	pt, pr, err := h.p.tablePolicies(ctx, h.desc.Database, h.desc.Name, base.Schema)
	if err != nil {
		return nil, err
	}
	var pol *policy.Filter
	if pt != nil {
		if pol = pt.Read(pr, policy.Select); pol.DeniesAll() {
			return gmssql.RowsToRowIter(), nil
		}
	}
	var rows []gmssql.Row
	var cur []byte
	var versions []version
	times := map[uint64]time.Time{}
	flush := func() error {
		var prev gmssql.Row
		for i := len(versions) - 1; i >= 0; i-- { // oldest first
			v := versions[i]
			op := "INSERT"
			var vals gmssql.Row
			switch {
			case v.value == nil:
				op, vals = "DELETE", prev
			default:
				r, err := decodeRow(v.value, width)
				if err != nil {
					return err
				}
				if prev != nil {
					op = "UPDATE"
				}
				vals = r
			}
			if vals == nil {
				continue // a deletion with nothing before it
			}
			at, ok := times[v.seq]
			if !ok {
				if e, err := h.p.db.Entry(v.seq); err == nil {
					at = time.Unix(0, e.CommittedAt).UTC()
				}
				times[v.seq] = at
			}
			if pol.Allow(vals) {
				rows = append(rows, append(gmssql.Row{v.seq, at, op}, vals...))
			}
			if v.value == nil {
				prev = nil
			} else {
				prev = vals
			}
		}
		versions = versions[:0]
		return nil
	}
	lo := storage.TablePrefix(h.desc.ID)
	err = h.p.db.Versions(lo, storage.PrefixEnd(lo), h.p.db.ReadSeq(), func(k []byte, seq uint64, v []byte) error {
		if !bytes.Equal(k, cur) {
			if err := flush(); err != nil {
				return err
			}
			cur = append(cur[:0], k...)
		}
		versions = append(versions, version{seq: seq, value: bytes.Clone(v)})
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, err
	}
	return gmssql.RowsToRowIter(rows...), nil
}

// historyBase returns the table name a history view name refers to.
func historyBase(name string) (string, bool) {
	if len(name) > len(HistorySuffix) && strings.EqualFold(name[len(name)-len(HistorySuffix):], HistorySuffix) {
		return name[:len(name)-len(HistorySuffix)], true
	}
	return "", false
}
