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
// DELETE shows the values the row had), through the table's whole lineage
// (lineage.go): every storage id that held its rows, oldest first — the
// ids that rewriting ALTERs and TRUNCATEs replaced, under whatever name
// the table had then.
//
// Versions of an older id are decoded with that id's schema and shown in
// today's columns. A column is followed by position within an id (across
// RENAME COLUMN, which keeps the id) and by name from one id to the next,
// or by the rename a rewrite recorded (tableDesc.RenamedFrom: CHANGE
// COLUMN). A column that did not exist then is NULL, a dropped one is not
// shown, and a value whose type an ALTER changed is converted as that
// ALTER converted it (each change in turn), or NULL when it does not
// convert (a row deleted before the ALTER, which never had to).
//
// The rows a rewriting ALTER copied into the new id are versions too: at
// the ALTER's seq, with op ALTER and the values as rewritten. A TRUNCATE
// writes no row versions (the old id keeps its rows, their last versions
// alive); each row alive in the old id when it was truncated shows as a
// DELETE at the TRUNCATE's seq with the values it had. The two are told
// apart by the new id: a rewrite writes its copies at the seq that made
// it, a TRUNCATE nothing (it commits alone, as DDL does). Rows dropped
// with DROP TABLE belong to no later table of that name.
//
// Row policies apply as for AS OF: to each id's rows, in that id's schema,
// those of every name that ever shared storage with it (pastPolicies).
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

// historySegment is one storage id of a history view's lineage.
type historySegment struct {
	id     uint64
	desc   *tableDesc // its newest descriptor: the layout of its rows
	first  *tableDesc // its oldest: the names the ALTER that made it gave
	sch    gmssql.Schema
	start  uint64 // the seq it replaced its predecessor at (0: none)
	copied bool   // that replacement copied rows (a rewrite, not a TRUNCATE)
	ended  uint64 // the seq a TRUNCATE replaced it at (0: not truncated)
	cols   []int  // today's column j → its column in desc (-1: none)
	// conv[j] lists the types today's column j's value passes through
	// after desc's (each ALTER that changed it); empty when none did.
	conv [][]gmssql.Type
}

// project shows r, a row of s, in today's columns.
func (s *historySegment) project(ctx *gmssql.Context, r gmssql.Row) gmssql.Row {
	out := make(gmssql.Row, len(s.cols))
	for j, c := range s.cols {
		if c < 0 {
			continue
		}
		v := r[c]
		from := s.sch[c].Type
		for _, to := range s.conv[j] {
			v = convertHistoric(ctx, from, to, v)
			from = to
		}
		out[j] = v
	}
	return out
}

// convertHistoric converts v, a value of type from, to type to as a
// rewriting ALTER does (an enum or set by its labels); nil when it does
// not convert.
func convertHistoric(ctx *gmssql.Context, from, to gmssql.Type, v any) any {
	if v == nil {
		return nil
	}
	switch ft := from.(type) {
	case gmssql.EnumType:
		if i, ok := toInt(v); ok {
			if s, ok := ft.At(i); ok {
				v = s
			}
		}
	case gmssql.SetType:
		if i, ok := toInt(v); ok {
			if s, err := ft.BitsToString(uint64(i)); err == nil {
				v = s
			}
		}
	}
	out, inRange, err := to.Convert(ctx, v)
	if err != nil || inRange != gmssql.InRange {
		return nil
	}
	return out
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case uint16:
		return int(x), true
	case uint64:
		return int(x), true
	case int64:
		return int(x), true
	}
	return 0, false
}

// segments returns the lineage of h's table, oldest first, with each
// older id's mapping onto today's columns.
func (h *historyTable) segments(l *lineage) ([]*historySegment, error) {
	ids := l.chain(h.desc.ID)
	segs := make([]*historySegment, len(ids))
	for k, id := range ids {
		s := &historySegment{id: id, desc: l.descs[id], first: l.first[id]}
		if k == len(ids)-1 {
			s.desc = h.desc
			if s.first == nil {
				s.first = h.desc
			}
		}
		if k > 0 {
			s.start = l.prev[id].seq
		}
		sch, err := s.desc.Schema()
		if err != nil {
			return nil, err
		}
		s.sch = sch.Schema
		segs[k] = s
	}
	last := segs[len(segs)-1]
	width := len(h.desc.Columns)
	last.cols, last.conv = make([]int, width), make([][]gmssql.Type, width)
	for j := range last.cols {
		last.cols[j] = j
	}
	for k := len(segs) - 2; k >= 0; k-- {
		s, next := segs[k], segs[k+1]
		s.cols, s.conv = make([]int, width), make([][]gmssql.Type, width)
		for j := range s.cols {
			s.cols[j] = -1
			n := next.cols[j]
			if n < 0 {
				continue
			}
			name := next.first.Columns[n].Name
			c := -1
			if o, ok := next.first.renamedFrom(name); ok {
				c = s.desc.columnIndex(o)
			}
			if c < 0 {
				c = s.desc.columnIndex(name)
			}
			if c < 0 {
				continue
			}
			s.cols[j] = c
			if to := next.sch[n].Type; !s.sch[c].Type.Equals(to) {
				s.conv[j] = append([]gmssql.Type{to}, next.conv[j]...)
			} else {
				s.conv[j] = next.conv[j]
			}
		}
	}
	return segs, nil
}

// PartitionRows lists the versions of every id of the lineage; a version
// whose values the principal may not read (the policies pastPolicies
// gives for its id, applied to the values the version shows, in that
// id's schema) is left out, as its row would be.
func (h *historyTable) PartitionRows(ctx *gmssql.Context, _ gmssql.Partition) (gmssql.RowIter, error) {
	st, _, err := h.p.stateFor(ctx)
	if err != nil {
		return nil, err
	}
	head := h.p.db.ReadSeq()
	l, err := h.p.loadLineage(head)
	if err != nil {
		return nil, err
	}
	segs, err := h.segments(l)
	if err != nil {
		return nil, err
	}
	// Newest first: whether an id's successor begins with copies of its
	// rows (a rewrite) or with none (a TRUNCATE) is known once the
	// successor is read.
	times := map[uint64]time.Time{}
	out := make([][]gmssql.Row, len(segs))
	for k := len(segs) - 1; k >= 0; k-- {
		s := segs[k]
		if k+1 < len(segs) && !segs[k+1].copied {
			s.ended = segs[k+1].start
		}
		rows, err := h.segmentRows(ctx, st, l, s, head, times)
		if err != nil {
			return nil, err
		}
		out[k] = rows
	}
	var rows []gmssql.Row
	for _, r := range out {
		rows = append(rows, r...)
	}
	return gmssql.RowsToRowIter(rows...), nil
}

// segmentRows lists the versions of one id of the lineage (and, when a
// TRUNCATE replaced it, the ends of its rows). It sets s.copied.
func (h *historyTable) segmentRows(ctx *gmssql.Context, st *state, l *lineage, s *historySegment, head uint64, times map[uint64]time.Time) ([]gmssql.Row, error) {
	pt, pr, err := h.p.lineagePolicies(ctx, st, l, s.desc, s.sch)
	if err != nil {
		return nil, err
	}
	var pol *policy.Filter
	if pt != nil {
		pol = pt.Read(pr, policy.Select)
	}
	width := len(s.desc.Columns)
	timeOf := func(seq uint64) time.Time {
		at, ok := times[seq]
		if !ok {
			if e, err := h.p.db.Entry(seq); err == nil {
				at = time.Unix(0, e.CommittedAt).UTC()
			}
			times[seq] = at
		}
		return at
	}
	var rows []gmssql.Row
	emit := func(seq uint64, op string, vals gmssql.Row) {
		if pol.Allow(vals) {
			rows = append(rows, append(gmssql.Row{seq, timeOf(seq), op}, s.project(ctx, vals)...))
		}
	}
	var cur []byte
	var versions []version
	flush := func() error {
		var prev gmssql.Row
		for i := len(versions) - 1; i >= 0; i-- { // oldest first
			v := versions[i]
			if v.value == nil {
				if prev != nil {
					emit(v.seq, "DELETE", prev)
				}
				prev = nil // a deletion with nothing before it shows nothing
				continue
			}
			r, err := decodeRow(v.value, width)
			if err != nil {
				return err
			}
			op := "INSERT"
			switch {
			case prev != nil:
				op = "UPDATE"
			case s.start != 0 && v.seq == s.start:
				op, s.copied = "ALTER", true
			}
			emit(v.seq, op, r)
			prev = r
		}
		if prev != nil && s.ended != 0 {
			emit(s.ended, "DELETE", prev)
		}
		versions = versions[:0]
		return nil
	}
	lo := storage.TablePrefix(s.id)
	err = h.p.db.Versions(lo, storage.PrefixEnd(lo), head, func(k []byte, seq uint64, v []byte) error {
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
	return rows, err
}

// historyBase returns the table name a history view name refers to.
func historyBase(name string) (string, bool) {
	if len(name) > len(HistorySuffix) && strings.EqualFold(name[len(name)-len(HistorySuffix):], HistorySuffix) {
		return name[:len(name)-len(HistorySuffix)], true
	}
	return "", false
}
