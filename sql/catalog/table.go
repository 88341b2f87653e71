package catalog

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"

	"github.com/cofferdb/coffer/sql/policy"
	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

// Table is a table of the catalog over storage. Rows are read from the
// caller's transaction (snapshot plus own writes), or at a fixed sequence for
// AS OF reads.
type Table struct {
	p      *Provider
	desc   *tableDesc
	sch    gmssql.PrimaryKeySchema
	asOf   uint64 // 0: the transaction's snapshot
	lookup *gmssql.IndexLookup
	// live reads include the running statement's own writes (foreign key
	// checks); other reads see the transaction as the statement began.
	live bool
	// unpoliced reads every row whatever the row policies say: a table
	// rewrite (ALTER) must copy all rows, not the ones its issuer sees.
	unpoliced bool
}

var (
	_ gmssql.Table                 = (*Table)(nil)
	_ gmssql.IndexAddressableTable = (*Table)(nil)
	_ gmssql.IndexedTable          = (*Table)(nil)
	_ gmssql.CommentedTable        = (*Table)(nil)
	_ gmssql.PrimaryKeyTable       = (*Table)(nil)
	_ gmssql.StatisticsTable       = (*Table)(nil)
)

func newTable(p *Provider, d *tableDesc, asOf uint64) *Table {
	sch, err := d.Schema()
	if err != nil {
		panic(err) // descriptors are validated when the catalog is loaded
	}
	return &Table{p: p, desc: d, sch: sch, asOf: asOf}
}

// Name implements sql.Nameable.
func (t *Table) Name() string { return t.desc.Name }

// String implements fmt.Stringer.
func (t *Table) String() string { return t.desc.Name }

// Schema implements sql.Table.
func (t *Table) Schema() gmssql.Schema { return t.sch.Schema }

// PrimaryKeySchema implements sql.PrimaryKeyTable.
func (t *Table) PrimaryKeySchema() gmssql.PrimaryKeySchema { return t.sch }

// Collation implements sql.Table.
func (t *Table) Collation() gmssql.CollationID {
	if t.desc.Collation == "" {
		return gmssql.Collation_Default
	}
	c, err := gmssql.ParseCollation("", t.desc.Collation, false)
	if err != nil {
		return gmssql.Collation_Default
	}
	return c
}

// Comment implements sql.CommentedTable.
func (t *Table) Comment() string { return t.desc.Comment }

// IsTemporary implements sql.TemporaryTable. Coffer has no temporary
// tables; the method exists because go-mysql-server's read-only transaction
// check calls it on every table a write touches and panics without it.
func (t *Table) IsTemporary() bool { return false }

// ID is the table's storage id.
func (t *Table) ID() uint64 { return t.desc.ID }

type partition struct{ lookup *gmssql.IndexLookup }

func (partition) Key() []byte { return []byte("p") }

type partitionIter struct {
	p    *partition
	done bool
}

func (i *partitionIter) Next(*gmssql.Context) (gmssql.Partition, error) {
	if i.done {
		return nil, io.EOF
	}
	i.done = true
	return i.p, nil
}

func (i *partitionIter) Close(*gmssql.Context) error { return nil }

// Partitions implements sql.Table: one partition, scanned in key order.
func (t *Table) Partitions(*gmssql.Context) (gmssql.PartitionIter, error) {
	return &partitionIter{p: &partition{lookup: t.lookup}}, nil
}

// LookupPartitions implements sql.IndexedTable.
func (t *Table) LookupPartitions(_ *gmssql.Context, l gmssql.IndexLookup) (gmssql.PartitionIter, error) {
	return &partitionIter{p: &partition{lookup: &l}}, nil
}

// IndexedAccess implements sql.IndexAddressable.
func (t *Table) IndexedAccess(_ *gmssql.Context, l gmssql.IndexLookup) gmssql.IndexedTable {
	c := *t
	c.lookup = &l
	return &c
}

// PreciseMatch implements sql.IndexAddressable: lookups filter rows by the
// exact ranges, so the engine need not.
func (t *Table) PreciseMatch() bool { return true }

// GetIndexes implements sql.IndexAddressable.
func (t *Table) GetIndexes(*gmssql.Context) ([]gmssql.Index, error) {
	ti := t.desc.tableIndexes(t.sch.Schema)
	out := make([]gmssql.Index, 0, 1+len(ti.secondary))
	if ti.pk != nil {
		out = append(out, ti.pk)
	}
	for _, ix := range ti.secondary {
		out = append(out, ix)
	}
	return out, nil
}

func (t *Table) indexByName(name string) *Index {
	ti := t.desc.tableIndexes(t.sch.Schema)
	if strings.EqualFold(name, "PRIMARY") {
		return ti.pk
	}
	if i, id := t.desc.index(name); id != nil {
		return ti.secondary[i]
	}
	return nil
}

// reader is where a table's rows are read from.
type reader interface {
	NewIter(lo, hi []byte) (rowSource, error)
	Get(key []byte) ([]byte, bool, error)
}

type rowSource interface {
	First() bool
	SeekGE([]byte) bool
	Next() bool
	Key() []byte
	Value() []byte
	Error() error
	Close() error
}

type txnReader struct{ t *txn.Transaction }

func (r txnReader) NewIter(lo, hi []byte) (rowSource, error) { return r.t.NewIter(lo, hi) }
func (r txnReader) Get(k []byte) ([]byte, bool, error)       { return r.t.ReadGet(k) }

type liveReader struct{ t *txn.Transaction }

func (r liveReader) NewIter(lo, hi []byte) (rowSource, error) { return r.t.NewLiveIter(lo, hi) }
func (r liveReader) Get(k []byte) ([]byte, bool, error)       { return r.t.Get(k) }

type seqReader struct {
	db  *storage.DB
	seq uint64
}

func (r seqReader) NewIter(lo, hi []byte) (rowSource, error) { return r.db.NewIter(lo, hi, r.seq) }
func (r seqReader) Get(k []byte) ([]byte, bool, error)       { return r.db.Get(k, r.seq) }

func (t *Table) reader(ctx *gmssql.Context) (reader, error) {
	if t.asOf != 0 {
		return seqReader{db: t.p.db, seq: t.asOf}, nil
	}
	tx, err := txn.FromContext(ctx)
	if err != nil {
		return nil, err
	}
	if t.live {
		return liveReader{tx}, nil
	}
	return txnReader{tx}, nil
}

// PartitionRows implements sql.Table.
func (t *Table) PartitionRows(ctx *gmssql.Context, part gmssql.Partition) (gmssql.RowIter, error) {
	r, err := t.reader(ctx)
	if err != nil {
		return nil, err
	}
	pol, err := t.readFilter(ctx, policy.Select)
	if err != nil {
		return nil, err
	}
	if pol.DeniesAll() {
		return gmssql.RowsToRowIter(), nil
	}
	p, _ := part.(*partition)
	if p == nil || p.lookup == nil {
		lo := storage.TablePrefix(t.desc.ID)
		it, err := r.NewIter(lo, storage.PrefixEnd(lo))
		if err != nil {
			return nil, err
		}
		return &scanIter{it: it, width: len(t.sch.Schema), policy: pol}, nil
	}
	return t.lookupRows(ctx, r, p.lookup, pol)
}

// scanIter decodes rows of a primary key range.
type scanIter struct {
	it      rowSource
	width   int
	started bool
	filter  gmssql.Expression
	// policy drops rows the principal may not see, before anything else
	// looks at them (nil: the table has no policy).
	policy *policy.Filter
}

func (s *scanIter) Next(ctx *gmssql.Context) (gmssql.Row, error) {
	for {
		var ok bool
		if !s.started {
			s.started, ok = true, s.it.First()
		} else {
			ok = s.it.Next()
		}
		if !ok {
			if err := s.it.Error(); err != nil {
				return nil, err
			}
			return nil, io.EOF
		}
		row, err := decodeRow(s.it.Value(), s.width)
		if err != nil {
			return nil, err
		}
		if !s.policy.Allow(row) {
			continue
		}
		if s.filter != nil {
			keep, err := gmssql.EvaluateCondition(ctx, s.filter, row)
			if err != nil {
				return nil, err
			}
			if !gmssql.IsTrue(keep) {
				continue
			}
		}
		return row, nil
	}
}

func (s *scanIter) Close(*gmssql.Context) error { return s.it.Close() }

// lookupRows reads the rows an index lookup selects: each range becomes a
// key range of the index, and rows are filtered by the exact ranges.
func (t *Table) lookupRows(ctx *gmssql.Context, r reader, l *gmssql.IndexLookup, pol *policy.Filter) (gmssql.RowIter, error) {
	ix, ok := l.Index.(*Index)
	if !ok {
		ix = t.indexByName(l.Index.ID())
	}
	if ix == nil {
		return nil, fmt.Errorf("catalog: table %s has no index %s", t.desc.Name, l.Index.ID())
	}
	ranges, ok := l.Ranges.(gmssql.MySQLRangeCollection)
	if !ok {
		return nil, fmt.Errorf("catalog: unsupported range type %T", l.Ranges)
	}
	if l.IsEmptyRange || len(ranges) == 0 {
		return gmssql.RowsToRowIter(), nil
	}
	// Each range gets its own key window, and its own filter when the
	// window may be wider than the range: filtering a window with the whole
	// collection would return a row once per window that contains it.
	windows := make([]keyWindow, len(ranges))
	for i := range ranges {
		w := &windows[i]
		w.lo, w.hi, w.exact = rangeBounds(ctx, ix.keyPrefix, ix.cols, ranges[i])
		if w.exact {
			continue
		}
		f, err := expression.NewRangeFilterExpr(ix.filterExprs, ranges[i:i+1])
		if err != nil {
			return nil, err
		}
		w.filter = f
	}
	li := &lookupIter{t: t, r: r, ix: ix, windows: windows, policy: pol}
	switch r := r.(type) {
	case txnReader:
		li.recheck = r.t.HasLatestWrites()
	case liveReader:
		li.recheck = r.t.HasLatestWrites()
	}
	return li, nil
}

// keyWindow is the key range of one index range; filter (nil when the
// window is exact) keeps the rows the range selects.
type keyWindow struct {
	lo, hi []byte
	exact  bool
	filter gmssql.Expression
}

type lookupIter struct {
	t       *Table
	r       reader
	ix      *Index
	windows []keyWindow
	cur     rowSource
	next    int            // index of the next window to open; next-1 is current
	policy  *policy.Filter // rows the principal may see (nil: all)
	// recheck: the transaction wrote rows from versions newer than its
	// snapshot, so an entry may be stale (txn.HasLatestWrites).
	recheck bool
}

func (l *lookupIter) Next(ctx *gmssql.Context) (gmssql.Row, error) {
	for {
		if l.cur == nil {
			if l.next >= len(l.windows) {
				return nil, io.EOF
			}
			w := &l.windows[l.next]
			l.next++
			it, err := l.r.NewIter(w.lo, w.hi)
			if err != nil {
				return nil, err
			}
			if !it.First() {
				err := it.Error()
				it.Close()
				if err != nil {
					return nil, err
				}
				continue
			}
			l.cur = it
		} else if !l.cur.Next() {
			err := l.cur.Error()
			l.cur.Close()
			l.cur = nil
			if err != nil {
				return nil, err
			}
			continue
		}
		row, err := l.row()
		if err != nil {
			return nil, err
		}
		if row == nil || !l.policy.Allow(row) {
			continue
		}
		f := l.windows[l.next-1].filter
		if f == nil {
			return row, nil
		}
		keep, err := gmssql.EvaluateCondition(ctx, f, row)
		if err != nil {
			return nil, err
		}
		if gmssql.IsTrue(keep) {
			return row, nil
		}
	}
}

// row returns the row at the current index entry (nil if the entry is
// stale: a consistent snapshot has none, a transaction that wrote rows
// from newer versions may, see recheck).
func (l *lookupIter) row() (gmssql.Row, error) {
	width := len(l.t.sch.Schema)
	if l.ix.id == 0 {
		return decodeRow(l.cur.Value(), width)
	}
	pk := l.cur.Value()
	rowKey := append(storage.TablePrefix(l.t.desc.ID), pk...)
	v, ok, err := l.r.Get(rowKey)
	if err != nil || !ok {
		return nil, err
	}
	row, err := decodeRow(v, width)
	if err != nil || !l.recheck {
		return row, err
	}
	k, _, err := l.ix.entryKey(row, pk)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(k, l.cur.Key()) {
		return nil, nil // the row no longer has this entry
	}
	return row, nil
}

func (l *lookupIter) Close(*gmssql.Context) error {
	if l.cur != nil {
		return l.cur.Close()
	}
	return nil
}

// DataLength implements sql.StatisticsTable (an estimate, refreshed at
// most every sizeTTL: the analyzer asks for it on every query, and pebble's
// estimate reads sstable properties). A table with row policies reports 0:
// its size would tell everyone how much others store in it
// (information_schema.TABLES, SHOW TABLE STATUS).
func (t *Table) DataLength(ctx *gmssql.Context) (uint64, error) {
	if t.p.HasPolicies(ctx, t.desc.Database, t.desc.Name) {
		return 0, nil
	}
	return t.p.tableSize(t.desc.ID)
}

// RowCount implements sql.StatisticsTable: an estimate from the size of the
// table's key range, never exact (COUNT(*) must scan, so that later
// row-level policies apply to it).
func (t *Table) RowCount(ctx *gmssql.Context) (uint64, bool, error) {
	n, err := t.DataLength(ctx)
	if err != nil {
		return 0, false, err
	}
	return n / 64, false, nil
}
