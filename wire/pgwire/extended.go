package pgwire

import (
	"fmt"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/jackc/pgproto3/v2"
)

// prepared is a statement from Parse.
type prepared struct {
	st        statement
	paramOIDs []uint32
	// schema is the result shape, computed on first Describe.
	schema    gmssql.Schema
	described bool
}

// portal is a bound statement from Bind; it runs on its first Execute and
// hands out rows across Executes with row limits.
type portal struct {
	stmt    *prepared
	params  map[int]any
	formats []int16
	res     *result
	pos     int
}

func (c *conn) parse(m *pgproto3.Parse) *pgError {
	stmts, perr := translate(m.Query, c.user, c.columnType)
	var st statement
	switch {
	case perr != nil && perr.Code == codeSyntaxError:
		st = statement{sql: m.Query, tag: firstWord(m.Query), source: m.Query, pgErr: perr}
	case perr != nil:
		return perr
	case len(stmts) > 1:
		return newError(codeSyntaxError, "cannot insert multiple commands into a prepared statement")
	default:
		st = stmts[0]
	}
	n := st.params
	if len(m.ParameterOIDs) > n {
		n = len(m.ParameterOIDs)
	}
	oids := make([]uint32, n)
	for i := range oids {
		if i < len(m.ParameterOIDs) && m.ParameterOIDs[i] != 0 {
			oids[i] = m.ParameterOIDs[i]
			continue
		}
		oids[i] = c.hintOID(st.hints[i+1], st.hints)
	}
	c.stmts[m.Name] = &prepared{st: st, paramOIDs: oids}
	c.send(&pgproto3.ParseComplete{})
	return nil
}

// columnType is the translator's columnLookup over the engine catalog.
func (c *conn) columnType(table, column string) uint32 {
	return c.hintOID(paramHint{table: table, column: column}, nil)
}

// hintOID resolves a parameter's type from the column it is compared
// with or assigned to; 0 (unspecified) lets the client choose.
func (c *conn) hintOID(h paramHint, _ map[int]paramHint) uint32 {
	if h.oid != 0 {
		return h.oid
	}
	if h.column == "" || h.table == "" {
		return 0
	}
	ctx := c.newContext(c.ctx)
	defer c.dropAnalysisTxn()
	tbl, _, err := c.s.engine.Analyzer.Catalog.Table(ctx, c.db, h.table)
	if err != nil || tbl == nil {
		return 0
	}
	for _, col := range tbl.Schema() {
		if col.Name == h.column || equalFold(col.Name, h.column) {
			return typeOID(col.Type)
		}
	}
	return 0
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// dropAnalysisTxn forgets a transaction that catalog reads outside any
// statement started, so that the next autocommit statement reads fresh.
func (c *conn) dropAnalysisTxn() {
	if !c.inTxn {
		c.sess.SetTransaction(nil)
	}
}

func (c *conn) bind(m *pgproto3.Bind) *pgError {
	ps, ok := c.stmts[m.PreparedStatement]
	if !ok {
		return newError(codeInvalidSQLStatement, fmt.Sprintf("prepared statement %q does not exist", m.PreparedStatement))
	}
	if len(m.Parameters) != len(ps.paramOIDs) {
		return newError(codeProtocolViolation, fmt.Sprintf("bind message supplies %d parameters, but prepared statement %q requires %d", len(m.Parameters), m.PreparedStatement, len(ps.paramOIDs)))
	}
	params := make(map[int]any, len(m.Parameters))
	for i, raw := range m.Parameters {
		v, err := decodeParam(ps.paramOIDs[i], formatFor(m.ParameterFormatCodes, i), raw)
		if err != nil {
			return toPGError(err)
		}
		params[i+1] = v
	}
	c.portals[m.DestinationPortal] = &portal{stmt: ps, params: params, formats: m.ResultFormatCodes}
	c.send(&pgproto3.BindComplete{})
	return nil
}

func (c *conn) describe(m *pgproto3.Describe) *pgError {
	if m.ObjectType == 'S' {
		ps, ok := c.stmts[m.Name]
		if !ok {
			return newError(codeInvalidSQLStatement, fmt.Sprintf("prepared statement %q does not exist", m.Name))
		}
		c.send(&pgproto3.ParameterDescription{ParameterOIDs: ps.paramOIDs})
		sch, perr := c.statementSchema(ps)
		if perr != nil {
			return perr
		}
		c.sendDescription(sch, nil)
		return nil
	}
	p, ok := c.portals[m.Name]
	if !ok {
		return newError(codeInvalidCursor, fmt.Sprintf("portal %q does not exist", m.Name))
	}
	sch, perr := c.statementSchema(p.stmt)
	if perr != nil {
		return perr
	}
	c.sendDescription(sch, p.formats)
	return nil
}

func (c *conn) sendDescription(sch gmssql.Schema, formats []int16) {
	if sch == nil {
		c.send(&pgproto3.NoData{})
		return
	}
	c.send(rowDescription(sch, formats))
}

// statementSchema finds the columns a statement returns without running
// it: the engine binds the query and reports its schema, with the
// result types the translator inferred.
func (c *conn) statementSchema(ps *prepared) (gmssql.Schema, *pgError) {
	if ps.described {
		return ps.schema, nil
	}
	sch, perr := c.engineSchema(ps)
	if perr != nil || sch == nil || len(ps.st.resultTypes) == 0 {
		return sch, perr
	}
	ps.schema, _, perr = retype(ps.st.resultTypes, sch, nil)
	return ps.schema, perr
}

// engineSchema is statementSchema's engine part.
func (c *conn) engineSchema(ps *prepared) (gmssql.Schema, *pgError) {
	st := &ps.st
	switch st.kind {
	case kindShow:
		res, perr := c.show(st.setName)
		if perr != nil {
			return nil, perr
		}
		ps.schema, ps.described = res.schema, true
		return ps.schema, nil
	case kindEmptyRows:
		ps.schema, ps.described = emptySchema(st.columns), true
		return ps.schema, nil
	case kindEngine:
	default:
		ps.described = true
		return nil, nil
	}
	if st.sql == "" || (st.returning == "" && st.returningSelect == "" && st.tag != "SELECT" && st.tag != "EXPLAIN") {
		ps.described = true
		return nil, nil
	}
	ctx := c.newContext(c.ctx)
	defer c.dropAnalysisTxn()
	var node gmssql.Node
	var err error
	if st.returningSelect != "" || st.tag == "INSERT" {
		q := st.returningSelect
		if q == "" {
			q = "SELECT " + st.returning + " FROM " + insertTable(st.sql)
		}
		node, err := c.s.engine.PrepareQuery(ctx, q)
		if err != nil {
			return nil, toPGError(err)
		}
		ps.schema, ps.described = node.Schema(), true
		return ps.schema, nil
	}
	if st.returning != "" {
		parsed, perr := c.withReturning(ctx, st.sql, st.returning)
		if perr != nil {
			return nil, toPGError(perr)
		}
		key := st.sql + " RETURNING " + st.returning
		node, err = c.s.engine.PrepareParsedQuery(ctx, key, key, parsed)
	} else {
		node, err = c.s.engine.PrepareQuery(ctx, st.sql)
	}
	if err != nil {
		if st.pgErr != nil {
			return nil, st.pgErr
		}
		return nil, toPGError(err)
	}
	sch := node.Schema()
	if types.IsOkResultSchema(sch) || len(sch) == 0 {
		sch = nil
	}
	ps.schema, ps.described = sch, true
	return sch, nil
}

func (c *conn) execute(m *pgproto3.Execute) *pgError {
	p, ok := c.portals[m.Portal]
	if !ok {
		return newError(codeInvalidCursor, fmt.Sprintf("portal %q does not exist", m.Portal))
	}
	if p.res == nil {
		res, perr := c.run(&p.stmt.st, p.params)
		if perr != nil {
			return perr
		}
		p.res = res
	}
	res := p.res
	if res.empty {
		c.send(&pgproto3.EmptyQueryResponse{})
		return nil
	}
	if res.schema != nil {
		// A statement described without rows (DML) may still return
		// rows here only if it was described; send what was asked.
		rows := res.rows[p.pos:]
		if m.MaxRows > 0 && uint32(len(rows)) > m.MaxRows {
			rows = rows[:m.MaxRows]
		}
		if perr := c.sendRows(res.schema, rows, p.formats); perr != nil {
			c.noteError()
			return perr
		}
		p.pos += len(rows)
		if p.pos < len(res.rows) {
			c.send(&pgproto3.PortalSuspended{})
			return nil
		}
	}
	c.send(&pgproto3.CommandComplete{CommandTag: []byte(res.tag)})
	return nil
}

// insertTable is the quoted table name of an engine INSERT statement.
func insertTable(q string) string {
	if p, err := sqlparser.Parse(q); err == nil {
		if ins, ok := p.(*sqlparser.Insert); ok {
			return quoteIdent(ins.Table.Name.String())
		}
	}
	return "dual"
}
