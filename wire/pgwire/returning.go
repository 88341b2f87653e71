package pgwire

import (
	"fmt"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// insertReturning runs INSERT … RETURNING: the insert, then a read of
// the rows it wrote, found by the auto-increment values it was given
// or by the primary keys the client sent, in one transaction.
func (c *conn) insertReturning(st *statement, params map[int]any) (*result, *pgError) {
	parsed, err := sqlparser.Parse(st.sql)
	if err != nil {
		return nil, toPGError(err)
	}
	ins, ok := parsed.(*sqlparser.Insert)
	if !ok {
		return nil, unsupported("RETURNING here")
	}
	ctx := c.newContext(c.ctx)
	tbl, _, err := c.s.engine.Analyzer.Catalog.Table(ctx, ctx.GetCurrentDatabase(), ins.Table.Name.String())
	c.dropAnalysisTxn()
	if err != nil {
		return nil, toPGError(err)
	}
	sch := tbl.Schema()
	own := !c.inTxn
	if own {
		if _, perr := c.engineExec("START TRANSACTION", nil, "", nil); perr != nil {
			return nil, perr
		}
	}
	abort := func(perr *pgError) (*result, *pgError) {
		if own {
			c.engineQuery("ROLLBACK", nil, "")
		}
		return nil, perr
	}
	done, perr := c.engineExec(st.sql, params, "", st)
	if perr != nil {
		return abort(perr)
	}
	where, perr := c.insertedRows(ins, sch, done.tag)
	if perr != nil {
		return abort(perr)
	}
	var selParams map[int]any
	if strings.Contains(st.returning, ":v") {
		selParams = params
	}
	sel, perr := c.engineExec("SELECT "+st.returning+" FROM "+quoteIdent(tbl.Name())+" WHERE "+where, selParams, "", &statement{tag: "SELECT"})
	if perr != nil {
		return abort(perr)
	}
	if own {
		if _, perr := c.engineExec("COMMIT", nil, "", nil); perr != nil {
			return nil, perr
		}
	}
	return &result{schema: sel.schema, rows: sel.rows, tag: done.tag}, nil
}

// insertedRows returns a condition matching the rows an INSERT wrote.
func (c *conn) insertedRows(ins *sqlparser.Insert, sch gmssql.Schema, tag string) (string, *pgError) {
	var n int64
	fmt.Sscanf(strings.TrimPrefix(tag, "INSERT 0 "), "%d", &n)
	if n == 0 {
		return "FALSE", nil
	}
	colPos := map[string]int{}
	for i, col := range ins.Columns {
		colPos[strings.ToLower(col.String())] = i
	}
	if len(ins.Columns) == 0 {
		for i, col := range sch {
			colPos[strings.ToLower(col.Name)] = i
		}
	}
	values, _ := ins.Rows.(*sqlparser.AliasedValues)
	for _, col := range sch {
		if !col.AutoIncrement {
			continue
		}
		pos, given := colPos[strings.ToLower(col.Name)]
		if given && values != nil && !allDefault(values.Values, pos) {
			break // the client chose the values; use the key below
		}
		first := c.sess.GetLastQueryInfoInt(gmssql.LastInsertId)
		return fmt.Sprintf("%s BETWEEN %d AND %d", quoteIdent(col.Name), first, first+n-1), nil
	}
	if values == nil {
		return "", unsupported("INSERT … SELECT … RETURNING without an auto-increment key")
	}
	var keyCols []string
	var keyPos []int
	for _, col := range sch {
		if !col.PrimaryKey {
			continue
		}
		pos, ok := colPos[strings.ToLower(col.Name)]
		if !ok {
			return "", unsupported("RETURNING from an INSERT that leaves out primary key column " + col.Name)
		}
		keyCols, keyPos = append(keyCols, quoteIdent(col.Name)), append(keyPos, pos)
	}
	if len(keyCols) == 0 {
		return "", unsupported("RETURNING from a table without a primary key")
	}
	var tuples []string
	for _, row := range values.Values {
		var vals []string
		for _, p := range keyPos {
			vals = append(vals, sqlparser.String(row[p]))
		}
		tuples = append(tuples, "("+strings.Join(vals, ", ")+")")
	}
	return "(" + strings.Join(keyCols, ", ") + ") IN (" + strings.Join(tuples, ", ") + ")", nil
}

func allDefault(rows sqlparser.Values, pos int) bool {
	for _, row := range rows {
		if pos >= len(row) {
			return false
		}
		switch v := row[pos].(type) {
		case *sqlparser.Default, *sqlparser.NullVal:
		default:
			_ = v
			return false
		}
	}
	return true
}
