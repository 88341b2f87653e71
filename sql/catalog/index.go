package catalog

import (
	"fmt"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"

	"github.com/cofferdb/coffer/storage"
)

// Index is the primary key or a secondary index of a table, as go-mysql-
// server sees it.
type Index struct {
	db, table   string
	name        string
	id          uint32 // 0 = primary key
	unique      bool
	comment     string
	cols        []keyColumn
	names       []string
	prefixes    []uint16
	keyPrefix   []byte
	filterExprs []gmssql.Expression
}

var (
	_ gmssql.Index        = (*Index)(nil)
	_ gmssql.OrderedIndex = (*Index)(nil)
)

func primaryIndex(d *tableDesc, sch gmssql.Schema) *Index {
	ix := &Index{db: d.Database, table: d.Name, name: "PRIMARY", unique: true, keyPrefix: storage.TablePrefix(d.ID)}
	for _, o := range d.PKOrdinals {
		ix.addColumn(sch, o, 0)
	}
	return ix
}

func secondaryIndex(d *tableDesc, sch gmssql.Schema, id *indexDesc) *Index {
	ix := &Index{db: d.Database, table: d.Name, name: id.Name, id: id.ID, unique: id.Unique, comment: id.Comment,
		keyPrefix: storage.IndexPrefix(d.ID, id.ID)}
	for _, c := range id.Columns {
		ix.addColumn(sch, sch.IndexOfColName(c.Name), c.Length)
	}
	return ix
}

func (ix *Index) addColumn(sch gmssql.Schema, ord int, prefix int64) {
	c := sch[ord]
	ix.cols = append(ix.cols, newKeyColumn(sch, ord, prefix))
	ix.names = append(ix.names, c.Name)
	ix.prefixes = append(ix.prefixes, uint16(prefix))
	ix.filterExprs = append(ix.filterExprs, expression.NewGetFieldWithTable(ord, 0, c.Type, ix.db, ix.table, c.Name, c.Nullable))
}

// ID implements sql.Index.
func (ix *Index) ID() string { return ix.name }

// Database implements sql.Index.
func (ix *Index) Database() string { return ix.db }

// Table implements sql.Index.
func (ix *Index) Table() string { return ix.table }

// Expressions implements sql.Index.
func (ix *Index) Expressions() []string {
	out := make([]string, len(ix.names))
	for i, n := range ix.names {
		out[i] = fmt.Sprintf("%s.%s", ix.table, n) // case kept: SHOW CREATE TABLE matches Source.Name exactly
	}
	return out
}

// IsUnique implements sql.Index.
func (ix *Index) IsUnique() bool { return ix.unique }

// IsSpatial implements sql.Index.
func (ix *Index) IsSpatial() bool { return false }

// IsFullText implements sql.Index.
func (ix *Index) IsFullText() bool { return false }

// IsVector implements sql.Index.
func (ix *Index) IsVector() bool { return false }

// Comment implements sql.Index.
func (ix *Index) Comment() string { return ix.comment }

// IndexType implements sql.Index.
func (ix *Index) IndexType() string { return "BTREE" }

// IsGenerated implements sql.Index.
func (ix *Index) IsGenerated() bool { return false }

// ColumnExpressionTypes implements sql.Index.
func (ix *Index) ColumnExpressionTypes() []gmssql.ColumnExpressionType {
	exprs := ix.Expressions()
	out := make([]gmssql.ColumnExpressionType, len(exprs))
	for i, e := range exprs {
		out[i] = gmssql.ColumnExpressionType{Expression: e, Type: ix.cols[i].typ}
	}
	return out
}

// CanSupport implements sql.Index.
func (ix *Index) CanSupport(*gmssql.Context, ...gmssql.Range) bool { return true }

// CanSupportOrderBy implements sql.Index.
func (ix *Index) CanSupportOrderBy(gmssql.Expression) bool { return false }

// PrefixLengths implements sql.Index.
func (ix *Index) PrefixLengths() []uint16 {
	for _, p := range ix.prefixes {
		if p != 0 {
			return ix.prefixes
		}
	}
	return nil
}

// Order implements sql.OrderedIndex: byte order is SQL order unless a
// column is a prefix or uses a non-binary collation.
func (ix *Index) Order() gmssql.IndexOrder {
	for _, c := range ix.cols {
		if !c.ordered() {
			return gmssql.IndexOrderNone
		}
	}
	return gmssql.IndexOrderAsc
}

// Reversible implements sql.OrderedIndex.
func (ix *Index) Reversible() bool { return false }

// entryKey returns the user key of row's entry in this index and whether
// it embeds the primary key (non-unique indexes, and unique ones with a NULL,
// since NULLs never collide).
func (ix *Index) entryKey(row gmssql.Row, pk []byte) ([]byte, bool, error) {
	k, hasNull, err := encodeKey(append([]byte(nil), ix.keyPrefix...), ix.cols, row)
	if err != nil {
		return nil, false, err
	}
	if !ix.unique || hasNull {
		return append(k, pk...), true, nil
	}
	return k, false, nil
}
