package pgwire

import (
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// pg_catalog emulation. Each relation is a derived table over the
// engine's information_schema for the current database, so it follows
// the engine's catalog and its privileges, and needs no storage of its
// own. OIDs of tables and indexes are CRC32 of their qualified names;
// regclass casts and pg_class agree on them.

const (
	nsPublic     = 2200
	nsPGCatalog  = 11
	nsInfoSchema = 13000
)

func tableOID(schemaExpr, tableExpr string) string {
	return "CRC32(CONCAT(" + schemaExpr + ", '.', " + tableExpr + "))"
}

// regclassOID is the OID of a table named by a string expression.
func regclassOID(nameExpr string) string {
	return tableOID("DATABASE()", nameExpr)
}

// attTypeOID computes a column's type OID from information_schema.columns.
const attTypeOID = `(CASE WHEN LOWER(column_type) = 'tinyint(1)' THEN 16
 WHEN LOWER(data_type) IN ('tinyint', 'smallint') THEN 21
 WHEN LOWER(data_type) IN ('mediumint', 'int', 'integer') THEN 23
 WHEN LOWER(data_type) = 'bigint' THEN 20
 WHEN LOWER(data_type) = 'decimal' THEN 1700
 WHEN LOWER(data_type) = 'float' THEN 700
 WHEN LOWER(data_type) = 'double' THEN 701
 WHEN LOWER(column_type) = 'char(36)' THEN 2950
 WHEN LOWER(data_type) = 'char' THEN 1042
 WHEN LOWER(data_type) = 'varchar' THEN 1043
 WHEN LOWER(data_type) IN ('binary', 'varbinary', 'blob', 'tinyblob', 'mediumblob', 'longblob') THEN 17
 WHEN LOWER(data_type) = 'datetime' THEN 1114
 WHEN LOWER(data_type) = 'timestamp' THEN 1184
 WHEN LOWER(data_type) = 'date' THEN 1082
 WHEN LOWER(data_type) = 'time' THEN 1083
 WHEN LOWER(data_type) = 'json' THEN 3802
 ELSE 25 END)`

// attTypmod gives varchar/char columns PostgreSQL's typmod (length + 4).
const attTypmod = `(CASE WHEN LOWER(data_type) IN ('varchar', 'char') AND LOWER(column_type) <> 'char(36)' THEN character_maximum_length + 4
 WHEN LOWER(data_type) = 'decimal' THEN ((numeric_precision << 16) | numeric_scale) + 4 ELSE -1 END)`

// formatTypeCase renders format_type(oid, typmod).
func formatTypeCase(oid, mod string) string {
	return `(CASE ` + oid + ` WHEN 16 THEN 'boolean' WHEN 21 THEN 'smallint' WHEN 23 THEN 'integer'
 WHEN 20 THEN 'bigint' WHEN 1700 THEN (CASE WHEN ` + mod + ` > 4 THEN CONCAT('numeric(', (` + mod + ` - 4) >> 16, ',', (` + mod + ` - 4) & 65535, ')') ELSE 'numeric' END)
 WHEN 700 THEN 'real' WHEN 701 THEN 'double precision'
 WHEN 1042 THEN (CASE WHEN ` + mod + ` > 4 THEN CONCAT('character(', ` + mod + ` - 4, ')') ELSE 'character' END)
 WHEN 1043 THEN (CASE WHEN ` + mod + ` > 4 THEN CONCAT('character varying(', ` + mod + ` - 4, ')') ELSE 'character varying' END)
 WHEN 25 THEN 'text' WHEN 17 THEN 'bytea' WHEN 1114 THEN 'timestamp without time zone'
 WHEN 1184 THEN 'timestamp with time zone' WHEN 1082 THEN 'date' WHEN 1083 THEN 'time without time zone'
 WHEN 3802 THEN 'jsonb' WHEN 114 THEN 'json' WHEN 2950 THEN 'uuid' WHEN 19 THEN 'name' WHEN 26 THEN 'oid'
 ELSE 'text' END)`
}

// pgTypes lists pg_type rows: oid, name, length, array type oid.
var pgTypes = []struct {
	oid   int
	name  string
	len   int
	array int
	cat   string
}{
	{16, "bool", 1, 1000, "B"}, {17, "bytea", -1, 1001, "U"}, {19, "name", 64, 1003, "S"},
	{20, "int8", 8, 1016, "N"}, {21, "int2", 2, 1005, "N"}, {23, "int4", 4, 1007, "N"},
	{25, "text", -1, 1009, "S"}, {26, "oid", 4, 1028, "N"}, {114, "json", -1, 199, "U"},
	{700, "float4", 4, 1021, "N"}, {701, "float8", 8, 1022, "N"}, {1042, "bpchar", -1, 1014, "S"},
	{1043, "varchar", -1, 1015, "S"}, {1082, "date", 4, 1182, "D"}, {1083, "time", 8, 1183, "D"},
	{1114, "timestamp", 8, 1115, "D"}, {1184, "timestamptz", 8, 1185, "D"}, {1186, "interval", 16, 1187, "T"},
	{1700, "numeric", -1, 1231, "N"}, {2950, "uuid", 16, 2951, "U"}, {3802, "jsonb", -1, 3807, "U"},
	{705, "unknown", -2, 0, "X"},
}

func pgTypeRelation() string {
	var rows []string
	for i, ty := range pgTypes {
		format := "ROW(%d, '%s', %d, %d, '%s', %d, '%s', '%s', '%s', '%s')"
		if i == 0 {
			// The engine types VALUES integer columns by the first row
			// and clamps later values to that type (1043 became 127).
			format = "ROW(CAST(%d AS SIGNED), '%s', CAST(%d AS SIGNED), CAST(%d AS SIGNED), '%s', CAST(%d AS SIGNED), '%s', '%s', '%s', '%s')"
		}
		rows = append(rows, fmt.Sprintf(format,
			ty.oid, ty.name, nsPGCatalog, ty.len, ty.cat, ty.array, ty.name+"in", ty.name+"out", ty.name+"recv", ty.name+"send"))
	}
	// One VALUES table: the engine plans it far faster than a UNION of
	// many SELECTs inside psql's correlated subqueries.
	return "SELECT oid, typname, typnamespace, 10 AS typowner, typlen, TRUE AS typbyval, 'b' AS typtype, typcategory, TRUE AS typisdefined," +
		" ',' AS typdelim, 0 AS typrelid, 0 AS typelem, typarray, 'i' AS typalign, FALSE AS typnotnull, 0 AS typbasetype, -1 AS typtypmod," +
		" 0 AS typndims, 0 AS typcollation, NULL AS typdefault, typinput, typoutput, typreceive, typsend FROM (VALUES " + strings.Join(rows, ", ") +
		") AS v (oid, typname, typnamespace, typlen, typcategory, typarray, typinput, typoutput, typreceive, typsend)"
}

// catalogRelations maps pg_catalog relation names to their definitions.
var catalogRelations = map[string]string{
	"pg_namespace": fmt.Sprintf("SELECT %d AS oid, 'public' AS nspname, 10 AS nspowner, NULL AS nspacl UNION ALL SELECT %d, 'pg_catalog', 10, NULL UNION ALL SELECT %d, 'information_schema', 10, NULL", nsPublic, nsPGCatalog, nsInfoSchema),
	"pg_class": "SELECT " + tableOID("table_schema", "table_name") + " AS oid, table_name AS relname, " + fmt.Sprint(nsPublic) +
		" AS relnamespace, (CASE WHEN table_type = 'VIEW' THEN 'v' ELSE 'r' END) AS relkind, 10 AS relowner, 2 AS relam, 0 AS reltablespace," +
		" 0 AS reltuples, 0 AS relpages, TRUE AS relhasindex, 'p' AS relpersistence, FALSE AS relispartition, FALSE AS relrowsecurity," +
		" FALSE AS relforcerowsecurity, 0 AS reltoastrelid, FALSE AS relhastriggers, FALSE AS relhasrules, NULL AS reloptions, 0 AS relchecks," +
		" 'd' AS relreplident, 0 AS reloftype, 0 AS relnatts, NULL AS relpartbound, NULL AS relacl, 0 AS reltype" +
		" FROM information_schema.tables WHERE table_schema = DATABASE()" +
		" UNION ALL SELECT DISTINCT CRC32(CONCAT(table_schema, '.', table_name, '.', index_name)), (CASE WHEN index_name = 'PRIMARY' THEN CONCAT(table_name, '_pkey') ELSE index_name END), " + fmt.Sprint(nsPublic) +
		", 'i', 10, 403, 0, 0, 0, FALSE, 'p', FALSE, FALSE, FALSE, 0, FALSE, FALSE, NULL, 0, 'd', 0, 0, NULL, NULL, 0" +
		" FROM information_schema.statistics WHERE table_schema = DATABASE()",
	"pg_attribute": "SELECT " + tableOID("table_schema", "table_name") + " AS attrelid, column_name AS attname, " + attTypeOID +
		" AS atttypid, ordinal_position AS attnum, " + attTypmod + " AS atttypmod, (is_nullable = 'NO') AS attnotnull," +
		" (column_default IS NOT NULL OR LOWER(extra) LIKE '%auto_increment%') AS atthasdef, FALSE AS attisdropped, '' AS attidentity, '' AS attgenerated," +
		" -1 AS attlen, 0 AS attndims, 0 AS attcollation, NULL AS attoptions, NULL AS attfdwoptions, NULL AS attacl, TRUE AS attislocal, 0 AS attstattarget, 'x' AS attstorage, '' AS attcompression" +
		" FROM information_schema.columns WHERE table_schema = DATABASE()",
	"pg_attrdef": "SELECT CRC32(CONCAT(table_schema, '.', table_name, '.', column_name)) AS oid, " + tableOID("table_schema", "table_name") +
		" AS adrelid, ordinal_position AS adnum, (CASE WHEN LOWER(extra) LIKE '%auto_increment%' THEN 'auto_increment' ELSE column_default END) AS adbin" +
		" FROM information_schema.columns WHERE table_schema = DATABASE() AND (column_default IS NOT NULL OR LOWER(extra) LIKE '%auto_increment%')",
	"pg_index": "SELECT CRC32(CONCAT(table_schema, '.', table_name, '.', index_name)) AS indexrelid, " + tableOID("table_schema", "table_name") +
		" AS indrelid, COUNT(*) AS indnatts, COUNT(*) AS indnkeyatts, (MIN(non_unique) = 0) AS indisunique, (index_name = 'PRIMARY') AS indisprimary," +
		" FALSE AS indisexclusion, TRUE AS indimmediate, FALSE AS indisclustered, TRUE AS indisvalid, FALSE AS indcheckxmin, TRUE AS indisready," +
		" TRUE AS indislive, FALSE AS indisreplident, FALSE AS indnullsnotdistinct, '' AS indkey, NULL AS indexprs, NULL AS indpred, '' AS indoption, '' AS indcollation, '' AS indclass" +
		" FROM information_schema.statistics WHERE table_schema = DATABASE() GROUP BY table_schema, table_name, index_name",
	"pg_type":                  pgTypeRelation(),
	"pg_database":              "SELECT CRC32(schema_name) AS oid, schema_name AS datname, 10 AS datdba, 6 AS encoding, 'c' AS datlocprovider, 'C' AS datcollate, 'C' AS datctype, FALSE AS datistemplate, TRUE AS datallowconn, -1 AS datconnlimit, NULL AS datacl, NULL AS daticulocale, NULL AS daticurules, 0 AS dattablespace FROM information_schema.schemata WHERE schema_name NOT IN ('information_schema', 'mysql', 'performance_schema', 'sys')",
	"pg_roles":                 "SELECT CRC32(CONCAT(user, '@', host)) AS oid, user AS rolname, (super_priv = 'Y') AS rolsuper, TRUE AS rolinherit, (create_role_priv = 'Y') AS rolcreaterole, (create_priv = 'Y') AS rolcreatedb, TRUE AS rolcanlogin, FALSE AS rolreplication, -1 AS rolconnlimit, '********' AS rolpassword, NULL AS rolvaliduntil, FALSE AS rolbypassrls, NULL AS rolconfig FROM mysql.user",
	"pg_user":                  "SELECT CRC32(CONCAT(user, '@', host)) AS usesysid, user AS usename, (create_priv = 'Y') AS usecreatedb, (super_priv = 'Y') AS usesuper, FALSE AS userepl, FALSE AS usebypassrls, '********' AS passwd, NULL AS valuntil, NULL AS useconfig FROM mysql.user",
	"pg_settings":              "SELECT 'server_version' AS name, '" + ServerVersion + "' AS setting, NULL AS unit, 'Preset Options' AS category, 'internal' AS context, 'string' AS vartype, 'default' AS source UNION ALL SELECT 'server_encoding', 'UTF8', NULL, 'Preset Options', 'internal', 'string', 'default' UNION ALL SELECT 'standard_conforming_strings', 'on', NULL, 'Compatibility', 'user', 'bool', 'default' UNION ALL SELECT 'max_identifier_length', '63', NULL, 'Preset Options', 'internal', 'integer', 'default'",
	"pg_am":                    "SELECT 2 AS oid, 'heap' AS amname, 't' AS amtype UNION ALL SELECT 403, 'btree', 'i'",
	"pg_tablespace":            "SELECT 1663 AS oid, 'pg_default' AS spcname, 10 AS spcowner",
	"pg_constraint":            "SELECT 0 AS oid, '' AS conname, 0 AS connamespace, '' AS contype, 0 AS conrelid, 0 AS conindid, 0 AS confrelid, '' AS conkey, '' AS confkey, FALSE AS condeferrable, FALSE AS condeferred, TRUE AS convalidated, NULL AS conbin, 0 AS contypid, 0 AS conparentid, TRUE AS conislocal, '' AS confupdtype, '' AS confdeltype, '' AS confmatchtype FROM DUAL WHERE FALSE",
	"pg_description":           "SELECT 0 AS objoid, 0 AS classoid, 0 AS objsubid, '' AS description FROM DUAL WHERE FALSE",
	"pg_inherits":              "SELECT 0 AS inhrelid, 0 AS inhparent, 0 AS inhseqno, FALSE AS inhdetachpending FROM DUAL WHERE FALSE",
	"pg_trigger":               "SELECT 0 AS oid, 0 AS tgrelid, '' AS tgname, FALSE AS tgisinternal, 0 AS tgparentid FROM DUAL WHERE FALSE",
	"pg_policy":                "SELECT 0 AS oid, '' AS polname, 0 AS polrelid, '' AS polcmd, TRUE AS polpermissive, NULL AS polroles, NULL AS polqual, NULL AS polwithcheck FROM DUAL WHERE FALSE",
	"pg_statistic_ext":         "SELECT 0 AS oid, 0 AS stxrelid, '' AS stxname, 0 AS stxnamespace, '' AS stxkeys, NULL AS stxkind, -1 AS stxstattarget FROM DUAL WHERE FALSE",
	"pg_publication":           "SELECT 0 AS oid, '' AS pubname, FALSE AS puballtables, FALSE AS pubviaroot FROM DUAL WHERE FALSE",
	"pg_publication_rel":       "SELECT 0 AS oid, 0 AS prpubid, 0 AS prrelid FROM DUAL WHERE FALSE",
	"pg_publication_namespace": "SELECT 0 AS oid, 0 AS pnpubid, 0 AS pnnspid FROM DUAL WHERE FALSE",
	"pg_foreign_table":         "SELECT 0 AS ftrelid, 0 AS ftserver FROM DUAL WHERE FALSE",
	"pg_partitioned_table":     "SELECT 0 AS partrelid, '' AS partstrat FROM DUAL WHERE FALSE",
	"pg_collation":             "SELECT 100 AS oid, 'default' AS collname, 11 AS collnamespace",
	"pg_enum":                  "SELECT 0 AS oid, 0 AS enumtypid, 0 AS enumsortorder, '' AS enumlabel FROM DUAL WHERE FALSE",
	"pg_range":                 "SELECT 0 AS rngtypid, 0 AS rngsubtype FROM DUAL WHERE FALSE",
	"pg_proc":                  "SELECT 0 AS oid, '' AS proname, 0 AS pronamespace, 0 AS prorettype, '' AS prokind FROM DUAL WHERE FALSE",
	"pg_extension":             "SELECT 0 AS oid, '' AS extname, 0 AS extnamespace, '' AS extversion FROM DUAL WHERE FALSE",
	"pg_sequence":              "SELECT 0 AS seqrelid, 0 AS seqtypid FROM DUAL WHERE FALSE",
	"pg_depend":                "SELECT 0 AS classid, 0 AS objid, 0 AS objsubid, 0 AS refclassid, 0 AS refobjid, 0 AS refobjsubid, '' AS deptype FROM DUAL WHERE FALSE",
	"pg_auth_members":          "SELECT 0 AS roleid, 0 AS member, 0 AS grantor, FALSE AS admin_option FROM DUAL WHERE FALSE",
	"pg_stat_activity":         "SELECT 0 AS pid, '' AS datname, '' AS usename, '' AS state, '' AS query FROM DUAL WHERE FALSE",
}

// catalogFunc translates pg_catalog functions that catalog queries use.
func (t *translator) catalogFunc(name string, args []*pg.Node) (string, bool) {
	arg := func(i int) string {
		if i < len(args) {
			return t.expr(args[i])
		}
		return "NULL"
	}
	switch name {
	case "pg_table_is_visible", "pg_type_is_visible", "pg_function_is_visible", "has_table_privilege", "has_schema_privilege", "has_database_privilege":
		return "TRUE", true
	case "pg_get_userbyid":
		return quoteString("admin"), true
	case "format_type":
		return formatTypeCase(arg(0), "COALESCE("+arg(1)+", -1)"), true
	case "pg_get_expr":
		return arg(0), true
	case "pg_encoding_to_char":
		return "'UTF8'", true
	case "obj_description", "col_description", "shobj_description", "pg_get_constraintdef", "pg_get_triggerdef",
		"pg_get_statisticsobjdef_columns", "pg_get_partkeydef", "pg_tablespace_location", "array_to_string", "pg_get_viewdef":
		return "NULL", true
	case "pg_get_indexdef":
		return "(SELECT CONCAT('btree (', GROUP_CONCAT(column_name ORDER BY seq_in_index SEPARATOR ', '), ')') FROM information_schema.statistics" +
			" WHERE table_schema = DATABASE() AND CRC32(CONCAT(table_schema, '.', table_name, '.', index_name)) = " + arg(0) + ")", true
	case "pg_relation_size", "pg_total_relation_size", "pg_table_size", "pg_database_size":
		return "0", true
	case "pg_size_pretty":
		return "'0 bytes'", true
	case "current_setting":
		return "NULL", true
	case "quote_ident":
		return "CONCAT('\"', " + arg(0) + ", '\"')", true
	case "current_schemas":
		return "'{pg_catalog,public}'", true
	case "array_position":
		return "NULLIF(FIND_IN_SET(" + arg(1) + ", TRIM(BOTH '}' FROM TRIM(BOTH '{' FROM " + arg(0) + "))), 0)", true
	case "pg_is_in_recovery", "pg_relation_is_publishable":
		return "FALSE", true
	case "txid_current", "pg_current_xact_id":
		return "0", true
	}
	return "", false
}
