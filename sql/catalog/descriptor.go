package catalog

import (
	"encoding/json"
	"fmt"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/planbuilder"

	"github.com/cofferdb/coffer/storage"
)

// System keyspace names. Descriptors are JSON: they are small, rare to
// change and worth reading in a hex dump; rows use the binary rowcodec.
const (
	sep            = "\x1f"
	sysDatabase    = "db" + sep      // db␟<lower name>
	sysTable       = "tbl" + sep     // tbl␟<lower db>␟<lower name>
	sysView        = "view" + sep    // view␟<lower db>␟<lower name>
	sysTrigger     = "trigger" + sep // trigger␟<lower db>␟<lower name>
	sysProcedure   = "proc" + sep    // proc␟<lower db>␟<lower name>
	sysNextTableID = "seq" + sep + "table_id"
	// SysGrants holds go-mysql-server's serialized users and grants.
	SysGrants = "grants"
)

func dbKey(db string) []byte { return storage.SystemKey(sysDatabase + strings.ToLower(db)) }
func tableKey(db, name string) []byte {
	return storage.SystemKey(sysTable + strings.ToLower(db) + sep + strings.ToLower(name))
}
func objectKey(kind, db, name string) []byte {
	return storage.SystemKey(kind + strings.ToLower(db) + sep + strings.ToLower(name))
}

// databaseDesc describes a database.
type databaseDesc struct {
	Name      string `json:"name"`
	Collation string `json:"collation,omitempty"`
}

// columnDesc is a column as stored: types and defaults as SQL text, parsed
// back with go-mysql-server's own parser.
type columnDesc struct {
	Name          string `json:"name"`
	Type          string `json:"type"`
	Default       string `json:"default,omitempty"`
	Generated     string `json:"generated,omitempty"`
	OnUpdate      string `json:"on_update,omitempty"`
	Nullable      bool   `json:"nullable,omitempty"`
	AutoIncrement bool   `json:"auto_increment,omitempty"`
	PrimaryKey    bool   `json:"primary_key,omitempty"`
	Virtual       bool   `json:"virtual,omitempty"`
	Comment       string `json:"comment,omitempty"`
	Extra         string `json:"extra,omitempty"`
}

// indexDesc is a secondary index.
type indexDesc struct {
	ID      uint32        `json:"id"`
	Name    string        `json:"name"`
	Columns []indexColumn `json:"columns"`
	Unique  bool          `json:"unique,omitempty"`
	Comment string        `json:"comment,omitempty"`
}

type indexColumn struct {
	Name   string `json:"name"`
	Length int64  `json:"length,omitempty"`
}

// tableDesc is a table's schema and constraints.
type tableDesc struct {
	ID          uint64                        `json:"id"`
	Database    string                        `json:"database"`
	Name        string                        `json:"name"`
	Columns     []columnDesc                  `json:"columns"`
	PKOrdinals  []int                         `json:"pk_ordinals"`
	Indexes     []indexDesc                   `json:"indexes,omitempty"`
	NextIndexID uint32                        `json:"next_index_id"`
	ForeignKeys []gmssql.ForeignKeyConstraint `json:"foreign_keys,omitempty"`
	Checks      []gmssql.CheckDefinition      `json:"checks,omitempty"`
	Collation   string                        `json:"collation,omitempty"`
	Comment     string                        `json:"comment,omitempty"`
	AutoIncBase uint64                        `json:"auto_increment_base,omitempty"`
	// RenamedFrom names, for a table a rewriting ALTER made, the columns
	// whose values it copied from a column of another name (CHANGE COLUMN,
	// or RENAME COLUMN in the same statement): new name → the name in the
	// replaced storage id's last committed descriptor. History views
	// follow columns by name across rewrites, and by this.
	RenamedFrom map[string]string `json:"renamed_from,omitempty"`

	// built lazily from the fields above; a desc is immutable once shared.
	schema *gmssql.PrimaryKeySchema
	// indexes, when set, are the table's indexes as go-mysql-server sees
	// them, built once when a loaded catalog state shares the desc
	// (buildIndexes); a desc not shared yet builds them per use.
	indexes *tableIndexes
	// sysKey is tableKey(Database, Name), set with indexes.
	sysKey []byte
}

// key is the descriptor's system key (tableKey).
func (d *tableDesc) key() []byte {
	if d.sysKey != nil {
		return d.sysKey
	}
	return tableKey(d.Database, d.Name)
}

// tableIndexes are a desc's primary key (nil: keyless) and secondary
// indexes. Shared by every statement on the table: read-only.
type tableIndexes struct {
	pk        *Index
	secondary []*Index
}

// newTableIndexes builds d's indexes over its schema sch.
func newTableIndexes(d *tableDesc, sch gmssql.Schema) *tableIndexes {
	ti := &tableIndexes{}
	if !d.keyless() {
		ti.pk = primaryIndex(d, sch)
	}
	for i := range d.Indexes {
		ti.secondary = append(ti.secondary, secondaryIndex(d, sch, &d.Indexes[i]))
	}
	return ti
}

// buildIndexes builds d's schema and indexes before d is shared: every
// statement on the table then uses them instead of building its own
// (a primary key Index and its column expressions per INSERT).
func (d *tableDesc) buildIndexes() error {
	sch, err := d.Schema()
	if err != nil {
		return err
	}
	d.indexes = newTableIndexes(d, sch.Schema)
	k := tableKey(d.Database, d.Name)
	d.sysKey = k[:len(k):len(k)] // shared by every transaction: an append copies
	return nil
}

// tableIndexes returns d's indexes over its schema sch.
func (d *tableDesc) tableIndexes(sch gmssql.Schema) *tableIndexes {
	if d.indexes != nil {
		return d.indexes
	}
	return newTableIndexes(d, sch)
}

func (d *tableDesc) clone() *tableDesc {
	c := *d
	c.Columns = append([]columnDesc(nil), d.Columns...)
	c.PKOrdinals = append([]int(nil), d.PKOrdinals...)
	c.Indexes = append([]indexDesc(nil), d.Indexes...)
	c.ForeignKeys = append([]gmssql.ForeignKeyConstraint(nil), d.ForeignKeys...)
	c.Checks = append([]gmssql.CheckDefinition(nil), d.Checks...)
	c.schema = nil
	c.indexes = nil
	c.sysKey = nil
	return &c
}

// renamedFrom returns the name column name had in the storage id d's
// rewrite replaced, when it had another (see RenamedFrom).
func (d *tableDesc) renamedFrom(name string) (string, bool) {
	for n, o := range d.RenamedFrom {
		if strings.EqualFold(n, name) {
			return o, true
		}
	}
	return "", false
}

func (d *tableDesc) keyless() bool { return len(d.PKOrdinals) == 0 }

func (d *tableDesc) index(name string) (int, *indexDesc) {
	for i := range d.Indexes {
		if strings.EqualFold(d.Indexes[i].Name, name) {
			return i, &d.Indexes[i]
		}
	}
	return -1, nil
}

func (d *tableDesc) autoIncColumn() int {
	for i, c := range d.Columns {
		if c.AutoIncrement {
			return i
		}
	}
	return -1
}

func (d *tableDesc) columnIndex(name string) int {
	for i, c := range d.Columns {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// descFromSchema builds a table descriptor from go-mysql-server's schema.
func descFromSchema(id uint64, db, name string, sch gmssql.PrimaryKeySchema, collation gmssql.CollationID, comment string) *tableDesc {
	d := &tableDesc{ID: id, Database: db, Name: name, PKOrdinals: append([]int(nil), sch.PkOrdinals...), Comment: comment, NextIndexID: 1}
	if collation != gmssql.Collation_Unspecified {
		d.Collation = collation.Name()
	}
	for _, c := range sch.Schema {
		d.Columns = append(d.Columns, columnFromSQL(c))
	}
	for _, o := range sch.PkOrdinals {
		d.Columns[o].Nullable = false // key columns are NOT NULL, as in MySQL
		d.Columns[o].PrimaryKey = true
	}
	return d
}

func columnFromSQL(c *gmssql.Column) columnDesc {
	cd := columnDesc{
		Name: c.Name, Type: c.Type.String(), Nullable: c.Nullable, AutoIncrement: c.AutoIncrement,
		PrimaryKey: c.PrimaryKey, Virtual: c.Virtual, Comment: c.Comment, Extra: c.Extra,
	}
	if c.Default != nil {
		cd.Default = c.Default.String()
	}
	if c.Generated != nil {
		cd.Generated = c.Generated.String()
	}
	if c.OnUpdate != nil {
		cd.OnUpdate = c.OnUpdate.String()
	}
	return cd
}

// Schema returns the go-mysql-server schema for the descriptor.
func (d *tableDesc) Schema() (gmssql.PrimaryKeySchema, error) {
	if d.schema != nil {
		return *d.schema, nil
	}
	sch := make(gmssql.Schema, len(d.Columns))
	for i, c := range d.Columns {
		typ, err := planbuilder.ParseColumnTypeString(c.Type)
		if err != nil {
			return gmssql.PrimaryKeySchema{}, fmt.Errorf("catalog: table %s column %s: type %q: %w", d.Name, c.Name, c.Type, err)
		}
		if typ, err = d.withCollation(typ); err != nil {
			return gmssql.PrimaryKeySchema{}, fmt.Errorf("catalog: table %s column %s: %w", d.Name, c.Name, err)
		}
		col := &gmssql.Column{
			Name: c.Name, Type: typ, Nullable: c.Nullable, AutoIncrement: c.AutoIncrement,
			PrimaryKey: c.PrimaryKey, Virtual: c.Virtual, Comment: c.Comment, Extra: c.Extra,
			Source: d.Name, DatabaseSource: d.Database,
		}
		if c.Default != "" {
			col.Default = gmssql.NewUnresolvedColumnDefaultValue(c.Default)
		}
		if c.Generated != "" {
			col.Generated = gmssql.NewUnresolvedColumnDefaultValue(c.Generated)
		}
		if c.OnUpdate != "" {
			col.OnUpdate = gmssql.NewUnresolvedColumnDefaultValue(c.OnUpdate)
		}
		sch[i] = col
	}
	pk := gmssql.NewPrimaryKeySchema(sch, d.PKOrdinals...)
	d.schema = &pk
	return pk, nil
}

// withCollation gives a string type whose text form named no collation
// (the default one) its collation back: a type parsed without one has an
// unspecified collation, under which LIKE and comparisons fail.
func (d *tableDesc) withCollation(typ gmssql.Type) (gmssql.Type, error) {
	tc, ok := typ.(gmssql.TypeWithCollation)
	if !ok || tc.Collation() != gmssql.Collation_Unspecified {
		return typ, nil
	}
	coll := gmssql.Collation_Default
	if d.Collation != "" {
		if c, err := gmssql.ParseCollation("", d.Collation, false); err == nil {
			coll = c
		}
	}
	return tc.WithNewCollation(coll)
}

func encodeDesc(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("catalog: encode descriptor: %v", err)) // only plain data
	}
	return b
}
