package pgwire

import (
	"encoding/hex"
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// typeNameOf returns a TypeName's last name component and its typmods.
func (t *translator) typeNameOf(tn *pg.TypeName) (string, []string) {
	if len(tn.ArrayBounds) > 0 {
		t.unsupported("array types")
	}
	names := stringList(tn.Names)
	name := strings.ToLower(names[len(names)-1])
	var mods []string
	for _, m := range tn.Typmods {
		mods = append(mods, t.expr(m))
	}
	return name, mods
}

// columnType maps a PostgreSQL column type to the engine's. keyed says
// the column is in a key, where unbounded text must get a length.
func (t *translator) columnType(tn *pg.TypeName, keyed bool) (typ string, autoInc bool) {
	name, mods := t.typeNameOf(tn)
	withMods := func(base string) string {
		if len(mods) == 0 {
			return base
		}
		return base + "(" + strings.Join(mods, ",") + ")"
	}
	switch name {
	case "int2", "smallint":
		return "smallint", false
	case "int4", "int", "integer":
		return "int", false
	case "int8", "bigint":
		return "bigint", false
	case "serial", "serial4":
		return "int", true
	case "bigserial", "serial8":
		return "bigint", true
	case "smallserial", "serial2":
		return "smallint", true
	case "float4", "real":
		return "float", false
	case "float8", "double precision", "float":
		return "double", false
	case "numeric", "decimal":
		if len(mods) == 0 {
			return "decimal(38,10)", false
		}
		return withMods("decimal"), false
	case "bool", "boolean":
		return "boolean", false
	case "text", "citext", "name":
		if keyed {
			return "varchar(768)", false
		}
		return "text", false
	case "varchar", "character varying":
		if len(mods) == 0 {
			if keyed {
				return "varchar(768)", false
			}
			return "text", false
		}
		return withMods("varchar"), false
	case "bpchar", "char", "character":
		if len(mods) == 0 {
			return "char(1)", false
		}
		return withMods("char"), false
	case "bytea":
		if keyed {
			return "varbinary(768)", false
		}
		return "longblob", false
	case "timestamp":
		return "datetime(6)", false
	case "timestamptz":
		return "timestamp(6)", false
	case "date":
		return "date", false
	case "time", "timetz":
		return "time(6)", false
	case "uuid":
		return "char(36)", false
	case "json", "jsonb":
		return "json", false
	case "oid", "regclass":
		return "bigint", false
	}
	t.unsupported("type " + name)
	return "", false
}

// castType maps a PostgreSQL type to a CAST target.
func (t *translator) castType(tn *pg.TypeName) string {
	name, mods := t.typeNameOf(tn)
	switch name {
	case "int2", "smallint", "int4", "int", "integer", "int8", "bigint", "oid":
		return "SIGNED"
	case "float4", "real", "float8", "double precision", "float":
		return "DOUBLE"
	case "numeric", "decimal":
		if len(mods) == 0 {
			return "DECIMAL(65,30)"
		}
		return "DECIMAL(" + strings.Join(mods, ",") + ")"
	case "text", "varchar", "character varying", "bpchar", "char", "character", "name", "uuid", "citext", "unknown":
		return "CHAR"
	case "bytea":
		return "BINARY"
	case "timestamp", "timestamptz":
		return "DATETIME(6)"
	case "date":
		return "DATE"
	case "time", "timetz":
		return "TIME(6)"
	case "json", "jsonb":
		return "JSON"
	}
	t.unsupported("cast to " + name)
	return ""
}

func (t *translator) typeCast(c *pg.TypeCast) string {
	name, _ := t.typeNameOf(c.TypeName)
	if k := c.Arg.GetAConst(); k != nil && k.GetSval() != nil {
		s := k.GetSval().Sval
		switch name {
		case "bool", "boolean":
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "t", "true", "y", "yes", "on", "1":
				return "TRUE"
			case "f", "false", "n", "no", "off", "0":
				return "FALSE"
			}
			t.fail(newError(codeInvalidText, fmt.Sprintf("invalid input syntax for type boolean: %q", s)))
		case "regclass":
			return regclassOID(quoteString(strings.Trim(s, `"`)))
		case "interval":
			t.unsupported("interval")
		case "bytea":
			if h, ok := strings.CutPrefix(s, `\x`); ok {
				if _, err := hex.DecodeString(h); err == nil {
					return "X'" + h + "'"
				}
			}
		}
	}
	switch name {
	case "bool", "boolean":
		return "(" + t.expr(c.Arg) + " <> 0)"
	case "regclass", "regtype", "regproc", "regnamespace", "regrole", "regprocedure", "oid":
		return t.expr(c.Arg)
	case "text", "varchar", "character varying", "name":
		if p := c.Arg.GetParamRef(); p != nil {
			t.hints[int(p.Number)] = paramHint{oid: oidText}
		}
	}
	if p := c.Arg.GetParamRef(); p != nil {
		if oid := castOID(name); oid != 0 {
			t.hints[int(p.Number)] = paramHint{oid: oid}
		}
	}
	return "CAST(" + t.expr(c.Arg) + " AS " + t.castType(c.TypeName) + ")"
}

func castOID(name string) uint32 {
	switch name {
	case "int2", "smallint":
		return oidInt2
	case "int4", "int", "integer":
		return oidInt4
	case "int8", "bigint":
		return oidInt8
	case "float8", "double precision":
		return oidFloat8
	case "numeric":
		return oidNumeric
	case "timestamp":
		return oidTimestamp
	case "timestamptz":
		return oidTimestamptz
	case "date":
		return oidDate
	case "uuid":
		return oidUUID
	case "bytea":
		return oidBytea
	case "jsonb":
		return oidJSONB
	case "json":
		return oidJSON
	}
	return 0
}

func (t *translator) createTable(s *pg.CreateStmt) string {
	if s.Relation.Relpersistence == "t" {
		t.unsupported("temporary tables")
	}
	if len(s.InhRelations) > 0 || s.Partspec != nil {
		t.unsupported("table inheritance and partitioning")
	}
	// Columns named in a key need bounded types.
	keyed := map[string]bool{}
	for _, e := range s.TableElts {
		if c := e.GetConstraint(); c != nil && (c.Contype == pg.ConstrType_CONSTR_PRIMARY || c.Contype == pg.ConstrType_CONSTR_UNIQUE) {
			for _, k := range stringList(c.Keys) {
				keyed[k] = true
			}
		}
		if cd := e.GetColumnDef(); cd != nil {
			for _, cn := range cd.Constraints {
				c := cn.GetConstraint()
				if c.Contype == pg.ConstrType_CONSTR_PRIMARY || c.Contype == pg.ConstrType_CONSTR_UNIQUE {
					keyed[cd.Colname] = true
				}
			}
		}
	}
	var parts []string
	for _, e := range s.TableElts {
		switch {
		case e.GetColumnDef() != nil:
			parts = append(parts, t.columnDef(e.GetColumnDef(), keyed[e.GetColumnDef().Colname]))
		case e.GetConstraint() != nil:
			parts = append(parts, t.tableConstraint(e.GetConstraint()))
		case e.GetTableLikeClause() != nil:
			t.unsupported("CREATE TABLE … LIKE")
		}
	}
	ine := ""
	if s.IfNotExists {
		ine = "IF NOT EXISTS "
	}
	return "CREATE TABLE " + ine + t.rangeVar(s.Relation, false) + " (" + strings.Join(parts, ", ") + ")"
}

func (t *translator) columnDef(cd *pg.ColumnDef, keyed bool) string {
	typ, autoInc := t.columnType(cd.TypeName, keyed)
	var b strings.Builder
	b.WriteString(quoteIdent(cd.Colname) + " " + typ)
	notNull := autoInc || cd.IsNotNull
	var tail []string
	for _, cn := range cd.Constraints {
		c := cn.GetConstraint()
		switch c.Contype {
		case pg.ConstrType_CONSTR_NOTNULL:
			notNull = true
		case pg.ConstrType_CONSTR_NULL:
		case pg.ConstrType_CONSTR_DEFAULT:
			tail = append(tail, "DEFAULT "+t.defaultExpr(c.RawExpr))
		case pg.ConstrType_CONSTR_IDENTITY:
			autoInc, notNull = true, true
		case pg.ConstrType_CONSTR_PRIMARY:
			notNull = true
			tail = append(tail, "PRIMARY KEY")
		case pg.ConstrType_CONSTR_UNIQUE:
			tail = append(tail, "UNIQUE")
		case pg.ConstrType_CONSTR_CHECK:
			tail = append(tail, t.checkConstraint(c))
		case pg.ConstrType_CONSTR_FOREIGN:
			tail = append(tail, t.references(c))
		case pg.ConstrType_CONSTR_GENERATED:
			tail = append(tail, "GENERATED ALWAYS AS ("+t.expr(c.RawExpr)+") STORED")
		default:
			t.unsupported("column constraint " + c.Contype.String())
		}
	}
	if notNull {
		b.WriteString(" NOT NULL")
	}
	if autoInc {
		b.WriteString(" AUTO_INCREMENT")
	}
	for _, x := range tail {
		b.WriteString(" " + x)
	}
	return b.String()
}

// defaultExpr writes a column default: literals as they are, anything
// else in parentheses (the engine's expression default form).
func (t *translator) defaultExpr(n *pg.Node) string {
	if n.GetAConst() != nil {
		return t.expr(n)
	}
	if f := n.GetFuncCall(); f != nil && funcName(f) == "nextval" {
		t.unsupported("DEFAULT nextval(…) (use SERIAL or GENERATED … AS IDENTITY)")
	}
	if tc := n.GetTypeCast(); tc != nil && tc.Arg.GetAConst() != nil {
		return t.expr(n)
	}
	if sv := n.GetSqlvalueFunction(); sv != nil {
		if name := sqlValueFuncName(sv.Op); name == "current_timestamp" || name == "localtimestamp" {
			return "CURRENT_TIMESTAMP(6)"
		}
	}
	if f := n.GetFuncCall(); f != nil && funcName(f) == "now" {
		return "CURRENT_TIMESTAMP(6)"
	}
	return "(" + t.expr(n) + ")"
}

func (t *translator) checkConstraint(c *pg.Constraint) string {
	s := "CHECK (" + t.expr(c.RawExpr) + ")"
	if c.Conname != "" {
		s = "CONSTRAINT " + quoteIdent(c.Conname) + " " + s
	}
	return s
}

func (t *translator) references(c *pg.Constraint) string {
	s := "REFERENCES " + t.rangeVar(c.Pktable, false)
	if len(c.PkAttrs) > 0 {
		s += " (" + joinIdents(stringList(c.PkAttrs)) + ")"
	}
	actions := map[string]string{"a": "", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
	if a := actions[c.FkDelAction]; a != "" {
		s += " ON DELETE " + a
	}
	if a := actions[c.FkUpdAction]; a != "" {
		s += " ON UPDATE " + a
	}
	return s
}

func (t *translator) tableConstraint(c *pg.Constraint) string {
	name := ""
	if c.Conname != "" {
		name = "CONSTRAINT " + quoteIdent(c.Conname) + " "
	}
	switch c.Contype {
	case pg.ConstrType_CONSTR_PRIMARY:
		return name + "PRIMARY KEY (" + joinIdents(stringList(c.Keys)) + ")"
	case pg.ConstrType_CONSTR_UNIQUE:
		return name + "UNIQUE (" + joinIdents(stringList(c.Keys)) + ")"
	case pg.ConstrType_CONSTR_CHECK:
		return t.checkConstraint(c)
	case pg.ConstrType_CONSTR_FOREIGN:
		return name + "FOREIGN KEY (" + joinIdents(stringList(c.FkAttrs)) + ") " + t.references(c)
	}
	t.unsupported("table constraint " + c.Contype.String())
	return ""
}

func (t *translator) createIndex(s *pg.IndexStmt) string {
	if s.WhereClause != nil {
		t.unsupported("partial indexes")
	}
	if s.Idxname == "" {
		t.unsupported("CREATE INDEX without a name")
	}
	var cols []string
	for _, p := range s.IndexParams {
		ie := p.GetIndexElem()
		if ie.Expr != nil {
			t.unsupported("expression indexes")
		}
		c := quoteIdent(ie.Name)
		if ie.Ordering == pg.SortByDir_SORTBY_DESC {
			c += " DESC"
		}
		cols = append(cols, c)
	}
	kw := "CREATE INDEX "
	if s.Unique {
		kw = "CREATE UNIQUE INDEX "
	}
	if s.IfNotExists {
		kw += "IF NOT EXISTS "
	}
	return kw + quoteIdent(s.Idxname) + " ON " + t.rangeVar(s.Relation, false) + " (" + strings.Join(cols, ", ") + ")"
}

func (t *translator) dropStmt(s *pg.DropStmt) statement {
	kinds := map[pg.ObjectType]string{pg.ObjectType_OBJECT_TABLE: "TABLE", pg.ObjectType_OBJECT_VIEW: "VIEW", pg.ObjectType_OBJECT_INDEX: "INDEX"}
	kind, ok := kinds[s.RemoveType]
	if !ok {
		t.unsupported("DROP " + strings.TrimPrefix(s.RemoveType.String(), "OBJECT_"))
	}
	var names []string
	for _, o := range s.Objects {
		parts := stringList(o.GetList().GetItems())
		if len(parts) == 0 {
			t.unsupported("this DROP form")
		}
		names = append(names, quoteIdent(parts[len(parts)-1]))
	}
	ife := ""
	if s.MissingOk {
		ife = "IF EXISTS "
	}
	if kind == "INDEX" {
		// The engine drops an index through its table; find it by name.
		if len(names) != 1 {
			t.unsupported("DROP INDEX of several indexes")
		}
		return statement{kind: kindEngine, tag: "DROP INDEX", sql: "", setName: strings.Trim(names[0], "`"), readOnly: s.MissingOk}
	}
	return statement{sql: "DROP " + kind + " " + ife + strings.Join(names, ", "), tag: "DROP " + kind}
}

func (t *translator) alterTable(s *pg.AlterTableStmt) statement {
	if s.Objtype != pg.ObjectType_OBJECT_TABLE {
		t.unsupported("ALTER " + strings.TrimPrefix(s.Objtype.String(), "OBJECT_"))
	}
	var parts []string
	var changes []columnAlter
	for _, c := range s.Cmds {
		cmd := c.GetAlterTableCmd()
		switch cmd.Subtype {
		case pg.AlterTableType_AT_SetNotNull, pg.AlterTableType_AT_DropNotNull, pg.AlterTableType_AT_AlterColumnType:
			changes = append(changes, t.alterColumnCmd(cmd))
		case pg.AlterTableType_AT_AddColumn:
			parts = append(parts, "ADD COLUMN "+t.columnDef(cmd.Def.GetColumnDef(), false))
		case pg.AlterTableType_AT_DropColumn:
			parts = append(parts, "DROP COLUMN "+quoteIdent(cmd.Name))
		case pg.AlterTableType_AT_AddConstraint:
			parts = append(parts, "ADD "+t.tableConstraint(cmd.Def.GetConstraint()))
		case pg.AlterTableType_AT_DropConstraint:
			parts = append(parts, "DROP CONSTRAINT "+quoteIdent(cmd.Name))
		case pg.AlterTableType_AT_ColumnDefault:
			if cmd.Def == nil {
				parts = append(parts, "ALTER COLUMN "+quoteIdent(cmd.Name)+" DROP DEFAULT")
			} else {
				parts = append(parts, "ALTER COLUMN "+quoteIdent(cmd.Name)+" SET DEFAULT "+t.defaultExpr(cmd.Def))
			}
		default:
			t.unsupported("ALTER TABLE " + strings.TrimPrefix(cmd.Subtype.String(), "AT_"))
		}
	}
	table := t.rangeVar(s.Relation, false)
	st := statement{sql: "ALTER TABLE " + table + " " + strings.Join(parts, ", "), tag: "ALTER TABLE"}
	if len(changes) > 0 {
		// The engine SQL is built when the statement runs (altercolumn.go).
		st.alterColumns = &alterColumns{table: table, parts: parts, changes: changes}
	}
	return st
}

func (t *translator) renameStmt(s *pg.RenameStmt) string {
	switch s.RenameType {
	case pg.ObjectType_OBJECT_TABLE:
		return "RENAME TABLE " + t.rangeVar(s.Relation, false) + " TO " + quoteIdent(s.Newname)
	case pg.ObjectType_OBJECT_COLUMN:
		return "ALTER TABLE " + t.rangeVar(s.Relation, false) + " RENAME COLUMN " + quoteIdent(s.Subname) + " TO " + quoteIdent(s.Newname)
	}
	t.unsupported("this RENAME")
	return ""
}
