package catalog

import (
	"errors"
	"fmt"
	"io"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"

	"github.com/cofferdb/coffer/sql/policy"
	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

var (
	_ gmssql.AlterableTable           = (*Table)(nil)
	_ gmssql.RewritableTable          = (*Table)(nil)
	_ gmssql.IndexAlterableTable      = (*Table)(nil)
	_ gmssql.ForeignKeyTable          = (*Table)(nil)
	_ gmssql.CheckAlterableTable      = (*Table)(nil)
	_ gmssql.CheckTable               = (*Table)(nil)
	_ gmssql.PrimaryKeyAlterableTable = (*Table)(nil)
	_ gmssql.TruncateableTable        = (*Table)(nil)
)

// errRewriteOnly is returned by the column changes go-mysql-server only
// calls when a table declines to be rewritten; Coffer always rewrites.
var errRewriteOnly = errors.New("catalog: column changes go through a table rewrite")

// updateDesc applies change to the newest descriptor of t in the caller's
// transaction and writes it back; t follows the new descriptor.
func (t *Table) updateDesc(ctx *gmssql.Context, change func(*tableDesc) error) error {
	st, tx, err := t.p.stateFor(ctx)
	if err != nil {
		return err
	}
	cur := st.table(t.desc.Database, t.desc.Name)
	if cur == nil {
		return gmssql.ErrTableNotFound.New(t.desc.Name)
	}
	nd := cur.clone()
	if err := change(nd); err != nil {
		return err
	}
	sch, err := nd.Schema()
	if err != nil {
		return err
	}
	tx.Put(tableKey(nd.Database, nd.Name), encodeDesc(nd))
	t.desc, t.sch = nd, sch
	return nil
}

// CreateIndex implements sql.IndexAlterableTable: the index is filled
// from the table's rows in the same transaction.
func (t *Table) CreateIndex(ctx *gmssql.Context, def gmssql.IndexDef) error {
	if def.Constraint == gmssql.IndexConstraint_Fulltext || def.Constraint == gmssql.IndexConstraint_Spatial || def.Constraint == gmssql.IndexConstraint_Vector {
		return gmssql.ErrUnsupportedFeature.New("FULLTEXT, SPATIAL and VECTOR indexes")
	}
	name := def.Name
	if name == "" {
		for _, c := range def.Columns {
			name += c.Name + "_"
		}
	}
	var added *indexDesc
	err := t.updateDesc(ctx, func(d *tableDesc) error {
		if _, ix := d.index(name); ix != nil || strings.EqualFold(name, "PRIMARY") {
			return gmssql.ErrDuplicateKey.New(name)
		}
		ix := indexDesc{ID: d.NextIndexID, Name: name, Unique: def.IsUnique(), Comment: def.Comment}
		for _, c := range def.Columns {
			o := d.columnIndex(c.Name)
			if o < 0 {
				return gmssql.ErrKeyColumnDoesNotExist.New(c.Name)
			}
			sch, _ := d.Schema()
			if !keyableType(sch.Schema[o].Type) {
				return gmssql.ErrUnsupportedFeature.New("index on column " + c.Name)
			}
			ix.Columns = append(ix.Columns, indexColumn{Name: d.Columns[o].Name, Length: c.Length})
		}
		d.NextIndexID++
		d.Indexes = append(d.Indexes, ix)
		added = &d.Indexes[len(d.Indexes)-1]
		return nil
	})
	if err != nil {
		return err
	}
	return t.fillIndex(ctx, added)
}

// fillIndex writes the entries of a new index for every row.
func (t *Table) fillIndex(ctx *gmssql.Context, id *indexDesc) error {
	e, err := t.editor(ctx)
	if err != nil {
		return err
	}
	ix := secondaryIndex(t.desc, t.sch.Schema, id)
	lo := storage.TablePrefix(t.desc.ID)
	it, err := e.tx.NewIter(lo, storage.PrefixEnd(lo))
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		row, err := decodeRow(it.Value(), len(t.sch.Schema))
		if err != nil {
			return err
		}
		pk := append([]byte(nil), it.Key()[len(lo):]...)
		k, embedsPK, err := ix.entryKey(row, pk)
		if err != nil {
			return err
		}
		if !embedsPK {
			if _, dup, err := e.tx.Get(k); err != nil {
				return err
			} else if dup {
				if t.p.HasPolicies(ctx, t.desc.Database, t.desc.Name) {
					// The duplicate may be between rows the issuer cannot see.
					return fmt.Errorf("CREATE UNIQUE INDEX %s: the table holds duplicate keys (values not shown: the table has row policies)", id.Name)
				}
				return gmssql.NewUniqueKeyErr(formatKey(row, ix.cols), false, nil)
			}
		}
		e.tx.Put(k, pk)
	}
	return it.Error()
}

// DropIndex implements sql.IndexAlterableTable. Old entries stay behind
// under the dropped index id, which is never reused.
func (t *Table) DropIndex(ctx *gmssql.Context, name string) error {
	if strings.EqualFold(name, "PRIMARY") {
		return t.DropPrimaryKey(ctx)
	}
	return t.updateDesc(ctx, func(d *tableDesc) error {
		i, _ := d.index(name)
		if i < 0 {
			return gmssql.ErrIndexNotFound.New(name)
		}
		d.Indexes = append(d.Indexes[:i], d.Indexes[i+1:]...)
		return nil
	})
}

// RenameIndex implements sql.IndexAlterableTable.
func (t *Table) RenameIndex(ctx *gmssql.Context, from, to string) error {
	if from == to {
		return nil
	}
	return t.updateDesc(ctx, func(d *tableDesc) error {
		_, ix := d.index(from)
		if ix == nil {
			return gmssql.ErrIndexNotFound.New(from)
		}
		if _, other := d.index(to); other != nil {
			return gmssql.ErrDuplicateKey.New(to)
		}
		ix.Name = to
		return nil
	})
}

// CreateIndexForForeignKey implements sql.ForeignKeyTable.
func (t *Table) CreateIndexForForeignKey(ctx *gmssql.Context, def gmssql.IndexDef) error {
	return t.CreateIndex(ctx, def)
}

// GetDeclaredForeignKeys implements sql.ForeignKeyTable.
func (t *Table) GetDeclaredForeignKeys(*gmssql.Context) ([]gmssql.ForeignKeyConstraint, error) {
	return append([]gmssql.ForeignKeyConstraint(nil), t.desc.ForeignKeys...), nil
}

// GetReferencedForeignKeys implements sql.ForeignKeyTable: the foreign
// keys of every table in the catalog whose parent is t.
func (t *Table) GetReferencedForeignKeys(ctx *gmssql.Context) ([]gmssql.ForeignKeyConstraint, error) {
	st, _, err := t.p.stateFor(ctx)
	if err != nil {
		return nil, err
	}
	var out []gmssql.ForeignKeyConstraint
	for _, tables := range st.tables {
		for _, d := range tables {
			for _, fk := range d.ForeignKeys {
				if strings.EqualFold(fk.ParentTable, t.desc.Name) && strings.EqualFold(fk.ParentDatabase, t.desc.Database) {
					out = append(out, fk)
				}
			}
		}
	}
	return out, nil
}

// AddForeignKey implements sql.ForeignKeyTable.
func (t *Table) AddForeignKey(ctx *gmssql.Context, fk gmssql.ForeignKeyConstraint) error {
	return t.updateDesc(ctx, func(d *tableDesc) error {
		for _, k := range d.ForeignKeys {
			if strings.EqualFold(k.Name, fk.Name) {
				return gmssql.ErrForeignKeyDuplicateName.New(fk.Name)
			}
		}
		d.ForeignKeys = append(d.ForeignKeys, fk)
		return nil
	})
}

// DropForeignKey implements sql.ForeignKeyTable.
func (t *Table) DropForeignKey(ctx *gmssql.Context, name string) error {
	return t.updateDesc(ctx, func(d *tableDesc) error {
		for i, k := range d.ForeignKeys {
			if strings.EqualFold(k.Name, name) {
				d.ForeignKeys = append(d.ForeignKeys[:i], d.ForeignKeys[i+1:]...)
				return nil
			}
		}
		return gmssql.ErrForeignKeyNotFound.New(name, d.Name)
	})
}

// UpdateForeignKey implements sql.ForeignKeyTable.
func (t *Table) UpdateForeignKey(ctx *gmssql.Context, name string, fk gmssql.ForeignKeyConstraint) error {
	return t.updateDesc(ctx, func(d *tableDesc) error {
		for i, k := range d.ForeignKeys {
			if strings.EqualFold(k.Name, name) {
				d.ForeignKeys[i] = fk
				return nil
			}
		}
		return gmssql.ErrForeignKeyNotFound.New(name, d.Name)
	})
}

// GetChecks implements sql.CheckTable.
func (t *Table) GetChecks(*gmssql.Context) ([]gmssql.CheckDefinition, error) {
	return append([]gmssql.CheckDefinition(nil), t.desc.Checks...), nil
}

// CreateCheck implements sql.CheckAlterableTable.
func (t *Table) CreateCheck(ctx *gmssql.Context, check *gmssql.CheckDefinition) error {
	return t.updateDesc(ctx, func(d *tableDesc) error {
		c := *check
		if c.Name == "" {
			c.Name = d.Name + "_chk_" + itoa(len(d.Checks)+1)
		}
		for _, k := range d.Checks {
			if strings.EqualFold(k.Name, c.Name) {
				return gmssql.ErrForeignKeyDuplicateName.New(c.Name)
			}
		}
		d.Checks = append(d.Checks, c)
		return nil
	})
}

// DropCheck implements sql.CheckAlterableTable.
func (t *Table) DropCheck(ctx *gmssql.Context, name string) error {
	return t.updateDesc(ctx, func(d *tableDesc) error {
		for i, k := range d.Checks {
			if strings.EqualFold(k.Name, name) {
				d.Checks = append(d.Checks[:i], d.Checks[i+1:]...)
				return nil
			}
		}
		return gmssql.ErrUnknownConstraint.New(name)
	})
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// AddColumn implements sql.AlterableTable (unused: see errRewriteOnly).
func (t *Table) AddColumn(*gmssql.Context, *gmssql.Column, *gmssql.ColumnOrder) error {
	return errRewriteOnly
}

// DropColumn implements sql.AlterableTable (unused: see errRewriteOnly).
func (t *Table) DropColumn(*gmssql.Context, string) error { return errRewriteOnly }

// ModifyColumn implements sql.AlterableTable for the changes go-mysql-
// server makes without a rewrite (ALTER COLUMN SET/DROP DEFAULT, RENAME
// COLUMN): the descriptor changes, the rows do not. Moving a column would
// change every row and goes through a rewrite instead.
func (t *Table) ModifyColumn(ctx *gmssql.Context, name string, col *gmssql.Column, order *gmssql.ColumnOrder) error {
	return t.updateDesc(ctx, func(d *tableDesc) error {
		i := d.columnIndex(name)
		if i < 0 {
			return gmssql.ErrTableColumnNotFound.New(d.Name, name)
		}
		if order != nil && !sameOrder(d, i, order) {
			return errRewriteOnly
		}
		old := d.Columns[i]
		cd := columnFromSQL(col)
		cd.PrimaryKey = old.PrimaryKey
		if cd.PrimaryKey {
			cd.Nullable = false
		}
		d.Columns[i] = cd
		if sch, err := d.Schema(); err != nil {
			return err
		} else if err := t.checkPoliciesFor(ctx, sch.Schema); err != nil {
			return err
		}
		if !strings.EqualFold(old.Name, cd.Name) {
			for x := range d.Indexes {
				for y := range d.Indexes[x].Columns {
					if strings.EqualFold(d.Indexes[x].Columns[y].Name, old.Name) {
						d.Indexes[x].Columns[y].Name = cd.Name
					}
				}
			}
		}
		return nil
	})
}

// sameOrder reports whether order leaves column i where it is.
func sameOrder(d *tableDesc, i int, order *gmssql.ColumnOrder) bool {
	if order.First {
		return i == 0
	}
	return i > 0 && strings.EqualFold(d.Columns[i-1].Name, order.AfterColumn)
}

// CreatePrimaryKey implements sql.PrimaryKeyAlterableTable (unused: the
// engine rewrites RewritableTables instead).
func (t *Table) CreatePrimaryKey(*gmssql.Context, []gmssql.IndexColumn) error { return errRewriteOnly }

// DropPrimaryKey implements sql.PrimaryKeyAlterableTable (unused, as above).
func (t *Table) DropPrimaryKey(*gmssql.Context) error { return errRewriteOnly }

// ShouldRewriteTable implements sql.RewritableTable: every schema change
// rewrites the rows into a fresh table id, so a descriptor always matches
// the rows under its id and old versions keep their old schema.
func (t *Table) ShouldRewriteTable(*gmssql.Context, gmssql.PrimaryKeySchema, gmssql.PrimaryKeySchema, *gmssql.Column, *gmssql.Column) bool {
	return true
}

// reconcileRewrite returns the schema a one-column rewrite produces. In a
// multi-clause ALTER, go-mysql-server plans a later clause's new schema
// from the table as it was before the statement, while oldSch is the table
// as the earlier clauses left it: after `CHANGE k k2 BIGINT, ADD COLUMN c
// INT` the ADD's new schema still has `k INT`, and using it would silently
// undo the CHANGE. When every column but the changed one agrees, newSch is
// used as it is; when they differ only in names and types (same count),
// the change is applied to oldSch instead; anything else is refused.
func reconcileRewrite(table string, oldSch, newSch gmssql.PrimaryKeySchema, oldCol, newCol *gmssql.Column) (gmssql.PrimaryKeySchema, error) {
	if oldCol == nil && newCol == nil {
		return newSch, nil
	}
	without := func(sch gmssql.Schema, c *gmssql.Column) gmssql.Schema {
		var out gmssql.Schema
		for _, x := range sch {
			if c == nil || !strings.EqualFold(x.Name, c.Name) {
				out = append(out, x)
			}
		}
		return out
	}
	oldRest, newRest := without(oldSch.Schema, oldCol), without(newSch.Schema, newCol)
	if sameColumns(oldRest, newRest) {
		return newSch, nil
	}
	if len(oldRest) != len(newRest) || len(oldSch.PkOrdinals) != len(newSch.PkOrdinals) {
		return newSch, fmt.Errorf("ALTER TABLE %s: these clauses cannot be combined in one statement here; run them as separate ALTER TABLE statements", table)
	}
	// Rebuild from oldSch: its other columns, and the new column where
	// newSch puts it relative to its neighbour.
	cols := append(gmssql.Schema(nil), oldRest...)
	if newCol != nil {
		at := 0
		if i := newSch.IndexOfColName(newCol.Name); i > 0 {
			if j := cols.IndexOfColName(newRest[i-1].Name); j >= 0 {
				at = j + 1
			} else {
				at = i
			}
		}
		nc := *newSch.Schema[newSch.IndexOfColName(newCol.Name)]
		cols = append(cols[:at], append(gmssql.Schema{&nc}, cols[at:]...)...)
	}
	var pk []int
	for _, o := range newSch.PkOrdinals {
		name := newSch.Schema[o].Name
		if i := newRest.IndexOfColName(name); i >= 0 && (newCol == nil || !strings.EqualFold(name, newCol.Name)) {
			name = oldRest[i].Name // the same column, as oldSch names it
		}
		j := cols.IndexOfColName(name)
		if j < 0 {
			return newSch, fmt.Errorf("ALTER TABLE %s: these clauses cannot be combined in one statement here; run them as separate ALTER TABLE statements", table)
		}
		pk = append(pk, j)
	}
	return gmssql.NewPrimaryKeySchema(cols, pk...), nil
}

// sameColumns reports whether a and b have the same column names and types.
func sameColumns(a, b gmssql.Schema) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i].Name, b[i].Name) || !a[i].Type.Equals(b[i].Type) {
			return false
		}
	}
	return true
}

// RewriteInserter implements sql.RewritableTable.
func (t *Table) RewriteInserter(ctx *gmssql.Context, oldSch, newSch gmssql.PrimaryKeySchema, oldCol, newCol *gmssql.Column, idxCols []gmssql.IndexColumn) (gmssql.RowInserter, error) {
	_, tx, err := t.p.stateFor(ctx)
	if err != nil {
		return nil, err
	}
	newSch, err = reconcileRewrite(t.desc.Name, oldSch, newSch, oldCol, newCol)
	if err != nil {
		return nil, err
	}
	if err := checkKeyTypes(newSch); err != nil {
		return nil, err
	}
	if err := t.checkPoliciesFor(ctx, newSch.Schema); err != nil {
		return nil, err
	}
	// The rewrite copies every row, whoever runs it: the rows it reads
	// from t are not filtered by row policies, and nothing leaves the
	// statement but the new table.
	t.unpoliced = true
	if len(oldSch.PkOrdinals) > 0 && len(newSch.PkOrdinals) == 0 {
		if err := gmssql.ValidatePrimaryKeyDrop(ctx, t, oldSch); err != nil {
			return nil, err
		}
	}
	// The rewrite is one unit: if a row fails (a duplicate new primary
	// key, a NULL in it), DiscardChanges drops the copied rows and the id.
	began := tx.StatementBegin()
	id, err := t.p.nextTableID(tx)
	if err != nil {
		return nil, err
	}
	nd := descFromSchema(id, t.desc.Database, t.desc.Name, newSch, t.Collation(), t.desc.Comment)
	nd.ForeignKeys = append(nd.ForeignKeys, t.desc.ForeignKeys...)
	nd.Checks = append(nd.Checks, t.desc.Checks...)
	nd.NextIndexID = t.desc.NextIndexID
	nd.Collation = t.desc.Collation
	for _, ix := range t.desc.Indexes {
		if kept, ok := rewriteIndex(ix, oldCol, newCol, nd); ok {
			nd.Indexes = append(nd.Indexes, kept)
		}
	}
	if _, err := nd.Schema(); err != nil {
		return nil, err
	}
	if nd.RenamedFrom, err = t.p.renamedFrom(tx, t.desc, nd, oldCol, newCol); err != nil {
		return nil, err
	}
	e, err := newTable(t.p, nd, 0).editor(ctx)
	if err != nil {
		return nil, err
	}
	e.unpoliced = true
	return &rewriteEditor{editor: e, desc: nd, began: began}, nil
}

// renamedFrom returns nd.RenamedFrom for nd, the rewrite of src: the
// columns of nd whose values come from a column of another name in the
// storage id history views read before nd's. That is src's id as
// committed (src may carry renames made earlier in this statement, which
// keep its columns' places), or, when an earlier rewrite of this statement
// made src, the id that one replaced.
func (p *Provider) renamedFrom(tx *txn.Transaction, src, nd *tableDesc, oldCol, newCol *gmssql.Column) (map[string]string, error) {
	st, err := p.stateAt(tx.ReadSeq())
	if err != nil {
		return nil, err
	}
	var committed *tableDesc
	for _, d := range st.tables[strings.ToLower(src.Database)] {
		if d.ID == src.ID {
			committed = d
		}
	}
	var out map[string]string
	for _, c := range nd.Columns {
		from := c.Name
		if oldCol != nil && newCol != nil && strings.EqualFold(from, newCol.Name) {
			from = oldCol.Name
		}
		i := src.columnIndex(from)
		if i < 0 {
			continue // a new column
		}
		origin := src.Columns[i].Name
		switch {
		case committed != nil && i < len(committed.Columns):
			origin = committed.Columns[i].Name
		case committed == nil:
			if o, ok := src.renamedFrom(origin); ok {
				origin = o
			}
		}
		if !strings.EqualFold(origin, c.Name) {
			if out == nil {
				out = map[string]string{}
			}
			out[c.Name] = origin
		}
	}
	return out, nil
}

// rewriteEditor copies rows into the rewritten table and, once all are
// in, points the table's name at it. Until then the old descriptor stays.
type rewriteEditor struct {
	*editor
	desc      *tableDesc
	began     bool // this rewrite opened the statement scope
	discarded bool
}

func (r *rewriteEditor) DiscardChanges(ctx *gmssql.Context, err error) error {
	r.discarded = true
	return r.editor.DiscardChanges(ctx, err)
}

func (r *rewriteEditor) Close(*gmssql.Context) error {
	if r.discarded {
		return nil
	}
	r.tx.Put(tableKey(r.desc.Database, r.desc.Name), encodeDesc(r.desc))
	if r.began {
		r.tx.StatementComplete()
	}
	return nil
}

// rewriteIndex carries an index over a column change: a renamed column is
// renamed in the index, a dropped one leaves it (and an index left with no
// columns is dropped).
func rewriteIndex(ix indexDesc, oldCol, newCol *gmssql.Column, nd *tableDesc) (indexDesc, bool) {
	out := ix
	out.Columns = nil
	for _, c := range ix.Columns {
		if oldCol != nil && strings.EqualFold(c.Name, oldCol.Name) {
			if newCol == nil {
				continue
			}
			c.Name = newCol.Name
		}
		if nd.columnIndex(c.Name) < 0 {
			continue
		}
		out.Columns = append(out.Columns, c)
	}
	return out, len(out.Columns) > 0
}

// Truncate implements sql.TruncateableTable: the table moves to a fresh id
// (the old rows remain as history) and its AUTO_INCREMENT restarts.
//
// A table with row policies is not truncated: TRUNCATE and DELETE without
// WHERE delete, one by one, the rows the principal may see and delete (as
// DELETE would), and AUTO_INCREMENT carries on.
func (t *Table) Truncate(ctx *gmssql.Context) (int, error) {
	if t.p.HasPolicies(ctx, t.desc.Database, t.desc.Name) {
		return t.deleteVisible(ctx)
	}
	n, err := t.countRows(ctx)
	if err != nil {
		return 0, err
	}
	_, tx, err := t.p.stateFor(ctx)
	if err != nil {
		return 0, err
	}
	id, err := t.p.nextTableID(tx)
	if err != nil {
		return 0, err
	}
	return n, t.updateDesc(ctx, func(d *tableDesc) error {
		d.ID = id
		d.AutoIncBase = 0
		d.RenamedFrom = nil // the new id's columns are the old id's
		return nil
	})
}

func (t *Table) countRows(ctx *gmssql.Context) (int, error) {
	r, err := t.reader(ctx)
	if err != nil {
		return 0, err
	}
	lo := storage.TablePrefix(t.desc.ID)
	it, err := r.NewIter(lo, storage.PrefixEnd(lo))
	if err != nil {
		return 0, err
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n, it.Error()
}

// deleteVisible deletes the rows of t the principal may see, checking
// each against the DELETE policies.
func (t *Table) deleteVisible(ctx *gmssql.Context) (int, error) {
	rows, err := t.PartitionRows(ctx, &partition{})
	if err != nil {
		return 0, err
	}
	var victims []gmssql.Row
	for {
		r, err := rows.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			rows.Close(ctx)
			return 0, err
		}
		victims = append(victims, r)
	}
	if err := rows.Close(ctx); err != nil {
		return 0, err
	}
	e, err := t.editor(ctx)
	if err != nil {
		return 0, err
	}
	for _, r := range victims {
		if err := e.Delete(ctx, r); err != nil {
			return 0, err
		}
	}
	return len(victims), nil
}

// checkPoliciesFor refuses a schema change that would leave a row policy
// of t not type-checking: drop or replace the policy first.
func (t *Table) checkPoliciesFor(ctx *gmssql.Context, sch gmssql.Schema) error {
	st, _, err := t.p.stateFor(ctx)
	if err != nil {
		return err
	}
	for _, p := range st.policies[strings.ToLower(t.desc.Database+"."+t.desc.Name)] {
		if err := policy.Check(p, sch); err != nil {
			return fmt.Errorf("ALTER TABLE %s: %w; drop the policy first (DROP POLICY %s ON %s)", t.desc.Name, err, p.Name, t.desc.Name)
		}
	}
	return nil
}
