package pgwire

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// ServerVersion is what the wire reports as PostgreSQL's version.
const ServerVersion = "15.0"

const versionString = "PostgreSQL 15.0 (Coffer, a confidential SQL ledger; go-mysql-server engine)"

func funcName(f *pg.FuncCall) string {
	names := stringList(f.Funcname)
	return strings.ToLower(names[len(names)-1])
}

func (t *translator) funcCall(f *pg.FuncCall) string {
	name := funcName(f)
	if f.AggFilter != nil {
		t.unsupported("aggregate FILTER")
	}
	if len(f.AggOrder) > 0 && name != "string_agg" {
		t.unsupported("ORDER BY inside an aggregate")
	}
	args := f.Args
	call := func(engineName string) string {
		inner := t.exprList(args)
		if f.AggStar {
			inner = "*"
		}
		if f.AggDistinct {
			inner = "DISTINCT " + inner
		}
		return engineName + "(" + inner + ")" + t.over(f.Over)
	}
	switch name {
	case "version":
		return quoteString(versionString)
	case "current_database", "current_catalog":
		return "DATABASE()"
	case "current_schema":
		return "'public'"
	case "current_user", "session_user":
		return quoteString(t.user)
	case "pg_backend_pid":
		return "CONNECTION_ID()"
	case "gen_random_uuid", "uuid_generate_v4":
		return "UUID()"
	case "now", "clock_timestamp", "statement_timestamp", "transaction_timestamp":
		return "NOW(6)"
	case "random":
		return "RAND()"
	case "strpos":
		if len(args) == 2 {
			return "LOCATE(" + t.expr(args[1]) + ", " + t.expr(args[0]) + ")"
		}
	case "string_agg":
		if len(args) == 2 {
			s := "GROUP_CONCAT("
			if f.AggDistinct {
				s += "DISTINCT "
			}
			s += t.expr(args[0])
			if len(f.AggOrder) > 0 {
				s += " ORDER BY " + t.sortList(f.AggOrder)
			}
			return s + " SEPARATOR " + t.expr(args[1]) + ")"
		}
	case "extract", "date_part":
		if len(args) == 2 {
			if c := args[0].GetAConst(); c != nil && c.GetSval() != nil {
				unit := strings.ToUpper(c.GetSval().Sval)
				switch unit {
				case "YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "QUARTER", "WEEK", "MICROSECOND":
					return "EXTRACT(" + unit + " FROM " + t.expr(args[1]) + ")"
				case "EPOCH":
					return "UNIX_TIMESTAMP(" + t.expr(args[1]) + ")"
				case "DOW":
					return "(DAYOFWEEK(" + t.expr(args[1]) + ") - 1)"
				}
			}
			t.unsupported("this EXTRACT field")
		}
	case "jsonb_build_object", "json_build_object":
		return call("JSON_OBJECT")
	case "jsonb_build_array", "json_build_array":
		return call("JSON_ARRAY")
	case "to_jsonb", "to_json":
		return "CAST(" + t.exprList(args) + " AS JSON)"
	case "char_length", "character_length":
		return call("CHAR_LENGTH")
	case "length":
		return call("CHAR_LENGTH")
	case "octet_length":
		return call("LENGTH")
	case "btrim":
		return call("TRIM")
	case "array_agg", "unnest", "array_length", "generate_series":
		t.unsupported(name + "() (arrays)")
	case "nextval", "currval", "setval":
		t.unsupported(name + "() (sequences; use SERIAL or IDENTITY columns)")
	case "pg_advisory_lock", "pg_advisory_unlock", "pg_try_advisory_lock", "pg_advisory_xact_lock":
		t.unsupported("advisory locks")
	}
	if s, ok := t.catalogFunc(name, args); ok {
		return s
	}
	return call(name)
}

func (t *translator) sortList(ns []*pg.Node) string {
	var parts []string
	for _, n := range ns {
		sb := n.GetSortBy()
		e := t.expr(sb.Node)
		if sb.SortbyDir == pg.SortByDir_SORTBY_DESC {
			e += " DESC"
		}
		parts = append(parts, e)
	}
	return strings.Join(parts, ", ")
}

func (t *translator) over(w *pg.WindowDef) string {
	if w == nil {
		return ""
	}
	if w.Name != "" || w.Refname != "" {
		t.unsupported("named windows")
	}
	var parts []string
	if len(w.PartitionClause) > 0 {
		parts = append(parts, "PARTITION BY "+t.exprList(w.PartitionClause))
	}
	if len(w.OrderClause) > 0 {
		parts = append(parts, "ORDER BY "+t.sortList(w.OrderClause))
	}
	return " OVER (" + strings.Join(parts, " ") + ")"
}
