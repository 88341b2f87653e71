package catalog

import (
	"fmt"

	gmssql "github.com/dolthub/go-mysql-server/sql"

	"github.com/cofferdb/coffer/sql/policy"
	"github.com/cofferdb/coffer/storage"
)

// Primary-key point reads for sql/engine's prepared point-select path:
// the same reader, the same row policies and the same row decoding as an
// index lookup through the analyzer, without building a plan.

// StoredTable returns the stored table db.name as ctx's transaction sees
// it, or nil when db.name is not one (a view, a history view, a table of
// a system database, or nothing).
func (p *Provider) StoredTable(ctx *gmssql.Context, db, name string) (*Table, error) {
	if p.isSystem(db) {
		return nil, nil
	}
	st, _, err := p.stateFor(ctx)
	if err != nil {
		return nil, err
	}
	d := st.table(db, name)
	if d == nil {
		return nil, nil
	}
	return newTable(p, d, 0), nil
}

// Version identifies the table's definition: it changes whenever the
// catalog the table was read from changes, so whatever a caller derived
// from an earlier definition is stale when Version differs.
func (t *Table) Version() any { return t.desc }

// PointReadable reports whether GetRow can read the table: it has a
// primary key and no virtual columns (which the analyzer computes on read).
func (t *Table) PointReadable() bool {
	if t.desc.keyless() {
		return false
	}
	for _, c := range t.desc.Columns {
		if c.Virtual {
			return false
		}
	}
	return true
}

// PlainInserts reports whether inserting a row into the table is nothing
// but the editor's work: no foreign keys, CHECK constraints, or generated
// or virtual columns, which go-mysql-server's insert evaluates first.
func (t *Table) PlainInserts() bool {
	if len(t.desc.ForeignKeys) > 0 || len(t.desc.Checks) > 0 {
		return false
	}
	for _, c := range t.desc.Columns {
		if c.Virtual || c.Generated != "" {
			return false
		}
	}
	return true
}

// PlainUpdates reports whether updating or deleting a row of the table
// is nothing but the editor's work: what PlainInserts asks, no ON UPDATE
// column (go-mysql-server sets it when a row changes), and no foreign key
// of any table referring to this one (go-mysql-server checks or cascades
// those).
func (t *Table) PlainUpdates(ctx *gmssql.Context) bool {
	if !t.PlainInserts() {
		return false
	}
	for _, c := range t.desc.Columns {
		if c.OnUpdate != "" {
			return false
		}
	}
	refs, err := t.GetReferencedForeignKeys(ctx)
	return err == nil && len(refs) == 0
}

// PrimaryKeyOrdinals returns the schema positions of the primary key
// columns, in key order.
func (t *Table) PrimaryKeyOrdinals() []int { return t.desc.PKOrdinals }

// RowKey returns the storage key of the row whose primary key is key (as
// GetRow takes it); ok=false when a key value is NULL, which matches no
// row.
func (t *Table) RowKey(key ...any) (k []byte, ok bool, err error) {
	if len(key) != len(t.desc.PKOrdinals) {
		return nil, false, fmt.Errorf("catalog: table %s: %d key values for a %d-column primary key", t.desc.Name, len(key), len(t.desc.PKOrdinals))
	}
	k = storage.TablePrefix(t.desc.ID)
	for i, o := range t.desc.PKOrdinals {
		if key[i] == nil {
			return nil, false, nil
		}
		if k, err = appendKeyColumn(k, newKeyColumn(t.sch.Schema, o, 0), key[i]); err != nil {
			return nil, false, err
		}
	}
	return k, true, nil
}

// GetRow returns the row whose primary key is key (one value per key
// column, each already converted to its column's type), as ctx's
// transaction sees it and as the row policies let ctx's principal see it;
// nil when there is no such row.
func (t *Table) GetRow(ctx *gmssql.Context, key ...any) (gmssql.Row, error) {
	k, ok, err := t.RowKey(key...)
	if err != nil || !ok {
		return nil, err // = NULL matches nothing
	}
	return t.GetRowAt(ctx, k)
}

// GetRowAt is GetRow for the row stored at k (RowKey's key).
func (t *Table) GetRowAt(ctx *gmssql.Context, k []byte) (gmssql.Row, error) {
	r, err := t.reader(ctx)
	if err != nil {
		return nil, err
	}
	pol, err := t.readFilter(ctx, policy.Select)
	if err != nil {
		return nil, err
	}
	if pol.DeniesAll() {
		return nil, nil
	}
	v, ok, err := r.Get(k)
	if err != nil || !ok {
		return nil, err
	}
	row, err := decodeRow(v, len(t.sch.Schema))
	if err != nil {
		return nil, err
	}
	if !pol.Allow(row) {
		return nil, nil
	}
	return row, nil
}
