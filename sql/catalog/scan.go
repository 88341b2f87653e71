package catalog

import (
	"fmt"

	gmssql "github.com/dolthub/go-mysql-server/sql"

	"github.com/cofferdb/coffer/sql/policy"
	"github.com/cofferdb/coffer/storage"
)

// ScanKeyRange calls fn with every row whose primary key, a single
// column, lies in [lo, hi] (values already converted to the key column's
// type), in key order, as ctx's transaction sees the table and as the row
// policies let ctx's principal see it: sql/engine's prepared range-select
// path reads what an index range lookup through the analyzer would. The
// row passed to fn is fn's to keep. need marks the columns fn reads (nil:
// all); the others may be left NULL.
func (t *Table) ScanKeyRange(ctx *gmssql.Context, lo, hi any, need []bool, fn func(gmssql.Row) error) error {
	width := len(t.sch.Schema)
	return t.scanKeyRange(ctx, lo, hi, func(enc []byte, pol *policy.Filter) error {
		cols := need
		if pol != nil || len(need) != width {
			cols = nil // a row policy may read any column
		}
		row, err := decodeRowColumns(enc, width, cols)
		if err != nil {
			return err
		}
		if !pol.Allow(row) {
			return nil
		}
		return fn(row)
	})
}

// ScanKeyRangeEncoded is ScanKeyRange for a reader of stored rows: fn
// gets each visible row's encoding (read it with RowColumns), valid only
// until fn returns. A row policy still sees the decoded row.
func (t *Table) ScanKeyRangeEncoded(ctx *gmssql.Context, lo, hi any, fn func(enc []byte) error) error {
	return t.scanKeyRange(ctx, lo, hi, func(enc []byte, pol *policy.Filter) error {
		if pol != nil {
			row, err := decodeRow(enc, len(t.sch.Schema))
			if err != nil {
				return err
			}
			if !pol.Allow(row) {
				return nil
			}
		}
		return fn(enc)
	})
}

// scanKeyRange calls fn with the encoding of every row of [lo, hi] ctx's
// transaction sees, and the row policy that decides which of them ctx's
// principal may see (nil: every one).
func (t *Table) scanKeyRange(ctx *gmssql.Context, lo, hi any, fn func(enc []byte, pol *policy.Filter) error) error {
	if len(t.desc.PKOrdinals) != 1 {
		return fmt.Errorf("catalog: table %s: a range scan needs a one-column primary key", t.desc.Name)
	}
	if lo == nil || hi == nil {
		return nil // BETWEEN NULL … matches nothing
	}
	r, err := t.reader(ctx)
	if err != nil {
		return err
	}
	pol, err := t.readFilter(ctx, policy.Select)
	if err != nil {
		return err
	}
	if pol.DeniesAll() {
		return nil
	}
	col := newKeyColumn(t.sch.Schema, t.desc.PKOrdinals[0], 0)
	prefix := storage.TablePrefix(t.desc.ID)
	from, err := appendKeyColumn(prefix, col, lo)
	if err != nil {
		return err
	}
	last, err := appendKeyColumn(prefix[:len(prefix):len(prefix)], col, hi)
	if err != nil {
		return err
	}
	// Key tuples are self-delimiting: the keys starting with hi's
	// encoding are hi's row alone.
	to := storage.PrefixEnd(last)
	if string(from) >= string(to) {
		return nil
	}
	it, err := r.NewIter(from, to)
	if err != nil {
		return err
	}
	defer it.Close()
	if pol.AllowsAll() {
		pol = nil
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(it.Value(), pol); err != nil {
			return err
		}
	}
	return it.Error()
}
