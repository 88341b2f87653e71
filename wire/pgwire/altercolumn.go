package pgwire

import (
	"fmt"
	"strings"

	"github.com/dolthub/vitess/go/vt/sqlparser"
	pg "github.com/pganalyze/pg_query_go/v6"
)

// ALTER TABLE … ALTER COLUMN … SET/DROP NOT NULL and … TYPE change one
// property of a column; the engine's MODIFY COLUMN restates the whole
// definition. So the connection reads the table's definition (SHOW
// CREATE TABLE, parsed by the engine's parser), changes the property in
// the parsed column definition and runs MODIFY COLUMN with the result.

// columnAlter is one such change.
type columnAlter struct {
	column string
	// notNull is set for SET NOT NULL (true) and DROP NOT NULL (false).
	notNull *bool
	// typ is the new engine type for … TYPE, or "".
	typ string
}

// alterColumns is the part of an ALTER TABLE that needs the table's
// definition: the table (engine SQL), the other actions, and the changes.
type alterColumns struct {
	table   string
	parts   []string
	changes []columnAlter
}

// alterColumnCmd translates the ALTER COLUMN actions of ALTER TABLE.
func (t *translator) alterColumnCmd(cmd *pg.AlterTableCmd) columnAlter {
	ca := columnAlter{column: cmd.Name}
	switch cmd.Subtype {
	case pg.AlterTableType_AT_SetNotNull, pg.AlterTableType_AT_DropNotNull:
		v := cmd.Subtype == pg.AlterTableType_AT_SetNotNull
		ca.notNull = &v
	case pg.AlterTableType_AT_AlterColumnType:
		cd := cmd.Def.GetColumnDef()
		if cd.RawDefault != nil && !isColumnOrCastOf(cd.RawDefault, cmd.Name) {
			t.unsupported("ALTER COLUMN … TYPE … USING an expression other than the column")
		}
		if cd.CollClause != nil {
			t.unsupported("ALTER COLUMN … TYPE … COLLATE")
		}
		typ, autoInc := t.columnType(cd.TypeName, false)
		if autoInc {
			t.unsupported("ALTER COLUMN … TYPE serial")
		}
		ca.typ = typ
	}
	return ca
}

// isColumnOrCastOf says n is column col, or col cast to a type.
func isColumnOrCastOf(n *pg.Node, col string) bool {
	if tc := n.GetTypeCast(); tc != nil {
		n = tc.Arg
	}
	cr := n.GetColumnRef()
	if cr == nil {
		return false
	}
	f := stringList(cr.Fields)
	return len(f) == len(cr.Fields) && len(f) > 0 && f[len(f)-1] == col
}

// alterColumnsSQL builds the engine ALTER TABLE for a, with each changed
// column restated from the table's current definition.
func (c *conn) alterColumnsSQL(a *alterColumns) (string, *pgError) {
	_, rows, err := c.engineQuery("SHOW CREATE TABLE "+a.table, nil, "")
	if err != nil {
		return "", toPGError(err)
	}
	if len(rows) != 1 || len(rows[0]) < 2 {
		return "", newError(codeUndefinedTable, fmt.Sprintf("relation %s does not exist", a.table))
	}
	text, _ := rows[0][1].(string)
	parsed, err := sqlparser.Parse(text)
	if err != nil {
		return "", newError(codeInternal, fmt.Sprintf("reading the definition of %s: %v", a.table, err))
	}
	ddl, ok := parsed.(*sqlparser.DDL)
	if !ok || ddl.TableSpec == nil {
		return "", newError(codeInternal, "reading the definition of "+a.table)
	}
	parts := append([]string(nil), a.parts...)
	changed := map[string]*sqlparser.ColumnDefinition{}
	var order []string
	for _, ch := range a.changes {
		def := findColumn(ddl.TableSpec.Columns, ch.column)
		if def == nil {
			return "", newError(codeUndefinedColumn, fmt.Sprintf("column %q of relation %s does not exist", ch.column, a.table))
		}
		if ch.notNull != nil {
			def.Type.NotNull = sqlparser.BoolVal(*ch.notNull)
			def.Type.Null = sqlparser.BoolVal(!*ch.notNull)
		}
		if ch.typ != "" {
			nt, perr := parseColumnType(ch.typ)
			if perr != nil {
				return "", perr
			}
			old := def.Type
			nt.Null, nt.NotNull, nt.Autoincrement = old.Null, old.NotNull, old.Autoincrement
			nt.Default, nt.OnUpdate, nt.Comment = old.Default, old.OnUpdate, old.Comment
			def.Type = nt
		}
		if _, seen := changed[def.Name.Lowered()]; !seen {
			order = append(order, def.Name.Lowered())
		}
		changed[def.Name.Lowered()] = def
	}
	for _, name := range order {
		parts = append(parts, "MODIFY COLUMN "+sqlparser.String(changed[name]))
	}
	return "ALTER TABLE " + a.table + " " + strings.Join(parts, ", "), nil
}

func findColumn(cols []*sqlparser.ColumnDefinition, name string) *sqlparser.ColumnDefinition {
	for _, d := range cols {
		if d.Name.String() == name {
			return d
		}
	}
	for _, d := range cols {
		if d.Name.EqualString(name) {
			return d
		}
	}
	return nil
}

// parseColumnType reads an engine column type with the engine's parser.
func parseColumnType(typ string) (sqlparser.ColumnType, *pgError) {
	p, err := sqlparser.Parse("CREATE TABLE t (c " + typ + ")")
	if ddl, ok := p.(*sqlparser.DDL); err == nil && ok && ddl.TableSpec != nil && len(ddl.TableSpec.Columns) == 1 {
		return ddl.TableSpec.Columns[0].Type, nil
	}
	return sqlparser.ColumnType{}, newError(codeInternal, "column type "+typ)
}
