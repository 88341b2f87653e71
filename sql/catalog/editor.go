package catalog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	vmysql "github.com/dolthub/vitess/go/mysql"

	"github.com/cofferdb/coffer/sql/policy"
	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

// editor writes rows of one table into the caller's transaction, keeping
// secondary indexes in step and enforcing primary and unique keys against
// what the transaction sees. Concurrent transactions that write the same
// key (row or unique index entry) conflict at commit: first committer wins.
type editor struct {
	t       *Table
	tx      *txn.Transaction
	pk      *Index // nil for keyless tables
	indexes []*Index
	// pol are the row policy decisions of the statement; unpoliced
	// editors (table rewrites) copy rows without them.
	pol       editorPolicies
	unpoliced bool
}

var (
	_ gmssql.TableEditor         = (*editor)(nil)
	_ gmssql.ForeignKeyEditor    = (*editor)(nil)
	_ gmssql.AutoIncrementSetter = (*editor)(nil)
)

func (t *Table) editor(ctx *gmssql.Context) (*editor, error) {
	if t.asOf != 0 {
		return nil, gmssql.ErrTableNotFound.New(t.desc.Name + " (AS OF is read-only)")
	}
	tx, err := txn.FromContext(ctx)
	if err != nil {
		return nil, err
	}
	ti := t.desc.tableIndexes(t.sch.Schema)
	return &editor{t: t, tx: tx, pk: ti.pk, indexes: ti.secondary}, nil
}

// editorOrError adapts editor construction to go-mysql-server's
// error-less constructors: the error surfaces on first use.
func (t *Table) editorOrError(ctx *gmssql.Context) gmssql.TableEditor {
	e, err := t.editor(ctx)
	if err != nil {
		return errEditor{err}
	}
	return e
}

// Inserter implements sql.InsertableTable.
func (t *Table) Inserter(ctx *gmssql.Context) gmssql.RowInserter { return t.editorOrError(ctx) }

// Updater implements sql.UpdatableTable.
func (t *Table) Updater(ctx *gmssql.Context) gmssql.RowUpdater { return t.editorOrError(ctx) }

// Deleter implements sql.DeletableTable.
func (t *Table) Deleter(ctx *gmssql.Context) gmssql.RowDeleter { return t.editorOrError(ctx) }

// Replacer implements sql.ReplaceableTable.
func (t *Table) Replacer(ctx *gmssql.Context) gmssql.RowReplacer { return t.editorOrError(ctx) }

// GetForeignKeyEditor implements sql.ForeignKeyTable.
func (t *Table) GetForeignKeyEditor(ctx *gmssql.Context) gmssql.ForeignKeyEditor {
	e, err := t.editor(ctx)
	if err != nil {
		return errEditor{err}
	}
	return e
}

// AutoIncrementSetter implements sql.AutoIncrementTable.
func (t *Table) AutoIncrementSetter(ctx *gmssql.Context) gmssql.AutoIncrementSetter {
	e, err := t.editor(ctx)
	if err != nil {
		return errEditor{err}
	}
	return e
}

func (e *editor) StatementBegin(*gmssql.Context) { e.tx.StatementBegin() }

func (e *editor) DiscardChanges(*gmssql.Context, error) error {
	e.tx.StatementDiscard()
	return nil
}

func (e *editor) StatementComplete(*gmssql.Context) error {
	e.tx.StatementComplete()
	return nil
}

func (e *editor) Close(*gmssql.Context) error { return nil }

// IndexedAccess implements sql.IndexAddressable for foreign key checks,
// which must see the rows the statement itself wrote (a self-referencing
// row, a cascade).
func (e *editor) IndexedAccess(ctx *gmssql.Context, l gmssql.IndexLookup) gmssql.IndexedTable {
	c := *e.t
	c.live = true
	return c.IndexedAccess(ctx, l)
}

// GetIndexes implements sql.IndexAddressable.
func (e *editor) GetIndexes(ctx *gmssql.Context) ([]gmssql.Index, error) { return e.t.GetIndexes(ctx) }

// PreciseMatch implements sql.IndexAddressable.
func (e *editor) PreciseMatch() bool { return true }

// primaryKey returns the row's key suffix (after the table prefix). Keyless
// tables use a hash of the row plus a duplicate counter, found by scanning
// the hash's few entries.
func (e *editor) primaryKey(row gmssql.Row) ([]byte, error) {
	if e.pk != nil {
		// Room for a BIGINT key and a few more bytes in one allocation.
		k, _, err := encodeKey(make([]byte, 0, 24), e.pk.cols, row)
		return k, err
	}
	enc, err := encodeRow(nil, row)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(enc)
	return h[:16], nil
}

func (e *editor) rowKey(pk []byte) []byte {
	return append(storage.AppendTablePrefix(make([]byte, 0, 9+len(pk)), e.t.desc.ID), pk...)
}

func (e *editor) touchTable() { e.tx.Check(e.t.desc.key()) }

// Insert implements sql.RowInserter. The row must pass the INSERT
// policies' WITH CHECK; a key taken by a row the principal cannot see is a
// duplicate-key error without that row (so REPLACE and ON DUPLICATE KEY
// UPDATE never act on it).
func (e *editor) Insert(ctx *gmssql.Context, row gmssql.Row) error {
	pol, err := e.policies(ctx)
	if err != nil {
		return err
	}
	if pol.table != "" && !pol.insertW.Allow(row) {
		return policy.Violation(pol.table, policy.Insert, true)
	}
	pk, err := e.primaryKey(row)
	if err != nil {
		return err
	}
	var key []byte
	if e.pk == nil {
		if pk, err = e.freeKeylessSlot(pk); err != nil {
			return err
		}
	} else {
		key = e.rowKey(pk)
		existing, ok, err := e.getRow(key)
		if err != nil {
			return err
		}
		if ok {
			if pol.hidden(existing) {
				return hiddenDuplicate(row, e.pk)
			}
			return gmssql.NewUniqueKeyErr(formatKey(row, e.pk.cols), true, existing)
		}
	}
	if err := e.checkUnique(row, pk, nil); err != nil {
		return err
	}
	if err := e.putRow(row, pk, key); err != nil {
		return err
	}
	e.t.p.noteAutoIncrement(ctx, e.t, row)
	return nil
}

// freeKeylessSlot appends the first free duplicate counter to a row hash.
func (e *editor) freeKeylessSlot(hash []byte) ([]byte, error) {
	prefix := e.rowKey(hash)
	it, err := e.tx.NewLiveIter(prefix, storage.PrefixEnd(prefix))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var n uint32
	for ok := it.First(); ok; ok = it.Next() {
		if c := binary.BigEndian.Uint32(it.Key()[len(prefix):]); c >= n {
			n = c + 1
		}
	}
	return binary.BigEndian.AppendUint32(bytes.Clone(hash), n), it.Error()
}

// findKeyless returns the key suffix of one stored row equal to row.
func (e *editor) findKeyless(row gmssql.Row) ([]byte, bool, error) {
	hash, err := e.primaryKey(row)
	if err != nil {
		return nil, false, err
	}
	enc, err := encodeRow(nil, row)
	if err != nil {
		return nil, false, err
	}
	prefix := e.rowKey(hash)
	it, err := e.tx.NewLiveIter(prefix, storage.PrefixEnd(prefix))
	if err != nil {
		return nil, false, err
	}
	defer it.Close()
	base := len(storage.TablePrefix(e.t.desc.ID))
	for ok := it.First(); ok; ok = it.Next() {
		if bytes.Equal(it.Value(), enc) {
			return bytes.Clone(it.Key()[base:]), true, nil
		}
	}
	return nil, false, it.Error()
}

func (e *editor) getRow(key []byte) (gmssql.Row, bool, error) {
	v, ok, err := e.tx.Get(key)
	if err != nil || !ok {
		return nil, false, err
	}
	r, err := decodeRow(v, len(e.t.sch.Schema))
	return r, err == nil, err
}

// checkUnique returns a unique key error if another row holds one of row's
// unique index keys. skip is the key suffix of a row being replaced.
func (e *editor) checkUnique(row gmssql.Row, pk, skip []byte) error {
	for _, ix := range e.indexes {
		if !ix.unique {
			continue
		}
		k, embedsPK, err := ix.entryKey(row, pk)
		if err != nil {
			return err
		}
		if embedsPK {
			continue // a NULL never collides
		}
		owner, ok, err := e.tx.Get(k)
		if err != nil {
			return err
		}
		if !ok || bytes.Equal(owner, pk) || (skip != nil && bytes.Equal(owner, skip)) {
			continue
		}
		existing, _, err := e.getRow(e.rowKey(owner))
		if err != nil {
			return err
		}
		if e.pol.hidden(existing) {
			return hiddenDuplicate(row, ix)
		}
		return gmssql.NewUniqueKeyErr(formatKey(row, ix.cols), false, existing)
	}
	return nil
}

// putRow writes row, whose primary key is pk, and its index entries; key
// is its row key, e.rowKey(pk), when the caller has it already (nil:
// made here).
func (e *editor) putRow(row gmssql.Row, pk, key []byte) error {
	enc, err := encodeRow(nil, row)
	if err != nil {
		return fmt.Errorf("table %s: %w", e.t.desc.Name, err)
	}
	e.touchTable()
	if key == nil {
		key = e.rowKey(pk)
	}
	e.tx.Put(key, enc)
	for _, ix := range e.indexes {
		k, _, err := ix.entryKey(row, pk)
		if err != nil {
			return err
		}
		e.tx.Put(k, bytes.Clone(pk))
	}
	return nil
}

func (e *editor) deleteRow(row gmssql.Row, pk []byte) error {
	e.touchTable()
	e.tx.Delete(e.rowKey(pk))
	for _, ix := range e.indexes {
		k, _, err := ix.entryKey(row, pk)
		if err != nil {
			return err
		}
		e.tx.Delete(k)
	}
	return nil
}

// Delete implements sql.RowDeleter. Deleting a row that is not there is
// not an error (the engine deletes rows it just read).
func (e *editor) Delete(ctx *gmssql.Context, row gmssql.Row) error {
	pol, err := e.policies(ctx)
	if err != nil {
		return err
	}
	pk, stored, err := e.storedKey(row)
	if err != nil || stored == nil {
		return err
	}
	if pol.table != "" && !pol.delete.Allow(stored) {
		return policy.Violation(pol.table, policy.Delete, false)
	}
	return e.deleteRow(stored, pk)
}

// storedKey finds the stored row that row identifies and its key suffix.
func (e *editor) storedKey(row gmssql.Row) ([]byte, gmssql.Row, error) {
	if e.pk == nil {
		pk, ok, err := e.findKeyless(row)
		if err != nil || !ok {
			return nil, nil, err
		}
		return pk, row, nil
	}
	pk, err := e.primaryKey(row)
	if err != nil {
		return nil, nil, err
	}
	stored, ok, err := e.getRow(e.rowKey(pk))
	if err != nil || !ok {
		return nil, nil, err
	}
	return pk, stored, nil
}

// Update implements sql.RowUpdater.
func (e *editor) Update(ctx *gmssql.Context, old, new gmssql.Row) error {
	pol, err := e.policies(ctx)
	if err != nil {
		return err
	}
	oldPK, stored, err := e.storedKey(old)
	if err != nil {
		return err
	}
	if stored == nil {
		return nil
	}
	if pol.table != "" {
		if !pol.update.Allow(stored) {
			return policy.Violation(pol.table, policy.Update, false)
		}
		if !pol.updateW.Allow(new) {
			return policy.Violation(pol.table, policy.Update, true)
		}
	}
	newPK, err := e.primaryKey(new)
	if err != nil {
		return err
	}
	if e.pk == nil {
		if newPK, err = e.freeKeylessSlot(newPK); err != nil {
			return err
		}
	} else if !bytes.Equal(oldPK, newPK) {
		if existing, ok, err := e.getRow(e.rowKey(newPK)); err != nil {
			return err
		} else if ok {
			if pol.hidden(existing) {
				return hiddenDuplicate(new, e.pk)
			}
			return gmssql.NewUniqueKeyErr(formatKey(new, e.pk.cols), true, existing)
		}
	}
	if err := e.checkUnique(new, newPK, oldPK); err != nil {
		return err
	}
	if err := e.deleteRow(stored, oldPK); err != nil {
		return err
	}
	if err := e.putRow(new, newPK, nil); err != nil {
		return err
	}
	e.t.p.noteAutoIncrement(ctx, e.t, new)
	return nil
}

// SetAutoIncrementValue implements sql.AutoIncrementSetter.
func (e *editor) SetAutoIncrementValue(ctx *gmssql.Context, v uint64) error {
	return e.t.p.setAutoIncrement(ctx, e.t, v)
}

// AcquireAutoIncrementLock implements sql.AutoIncrementSetter; the counter
// is atomic, so there is nothing to hold.
func (e *editor) AcquireAutoIncrementLock(*gmssql.Context) (func(), error) { return func() {}, nil }

// hiddenDuplicate is the error of a write whose key a row the principal
// cannot see already holds. The write must fail (two rows cannot share a
// key), so the row's existence shows, as in PostgreSQL; its values do not,
// and the error is not a unique-key error go-mysql-server would answer by
// deleting (REPLACE) or updating (ON DUPLICATE KEY UPDATE) that row. The
// code and SQLSTATE are MySQL's duplicate-entry ones.
func hiddenDuplicate(row gmssql.Row, ix *Index) error {
	return vmysql.NewSQLError(vmysql.ERDupEntry, vmysql.SSConstraintViolation,
		"Duplicate entry '%s' for key '%s' (held by a row hidden by row policies)", strings.Trim(formatKey(row, ix.cols), "[]"), ix.name)
}

func formatKey(row gmssql.Row, cols []keyColumn) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("%v", row[c.ord])
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// errEditor reports a construction error from every method.
type errEditor struct{ err error }

func (e errEditor) StatementBegin(*gmssql.Context)                       {}
func (e errEditor) DiscardChanges(*gmssql.Context, error) error          { return nil }
func (e errEditor) StatementComplete(*gmssql.Context) error              { return e.err }
func (e errEditor) Insert(*gmssql.Context, gmssql.Row) error             { return e.err }
func (e errEditor) Update(*gmssql.Context, gmssql.Row, gmssql.Row) error { return e.err }
func (e errEditor) Delete(*gmssql.Context, gmssql.Row) error             { return e.err }
func (e errEditor) Close(*gmssql.Context) error                          { return nil }
func (e errEditor) SetAutoIncrementValue(*gmssql.Context, uint64) error  { return e.err }
func (e errEditor) AcquireAutoIncrementLock(*gmssql.Context) (func(), error) {
	return nil, e.err
}
func (e errEditor) IndexedAccess(*gmssql.Context, gmssql.IndexLookup) gmssql.IndexedTable { return nil }
func (e errEditor) GetIndexes(*gmssql.Context) ([]gmssql.Index, error)                    { return nil, e.err }
func (e errEditor) PreciseMatch() bool                                                    { return true }
