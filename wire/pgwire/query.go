package pgwire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/jackc/pgproto3/v2"
)

// result is a statement's outcome: rows (when schema is not nil) and the
// command tag.
type result struct {
	schema gmssql.Schema
	rows   []gmssql.Row
	tag    string
	empty  bool
}

func (c *conn) simpleQuery(text string) {
	// The unnamed statement and portal do not survive a simple query.
	delete(c.stmts, "")
	delete(c.portals, "")
	if c.templated(text) {
		return
	}
	stmts, perr := translate(text, c.user, c.columnType)
	if perr != nil {
		if perr.Code != codeSyntaxError {
			c.sendError(perr)
			c.noteError()
			return
		}
		// Not PostgreSQL: perhaps a Coffer statement (governance) the
		// engine's own parser knows.
		stmts = []statement{{sql: text, tag: firstWord(text), source: text, pgErr: perr}}
	}
	for i := range stmts {
		if !c.reply(c.run(&stmts[i], nil)) {
			return
		}
	}
}

// reply sends a simple query statement's outcome; false means it failed,
// and the statements after it are not run.
func (c *conn) reply(res *result, perr *pgError) bool {
	if perr != nil {
		c.sendError(perr)
		return false
	}
	if res.empty {
		c.send(&pgproto3.EmptyQueryResponse{})
		return true
	}
	if res.schema != nil {
		c.send(rowDescription(res.schema, nil))
		if perr := c.sendRows(res.schema, res.rows, nil); perr != nil {
			c.sendError(perr)
			c.noteError()
			return false
		}
	}
	c.send(&pgproto3.CommandComplete{CommandTag: []byte(res.tag)})
	return true
}

func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return strings.ToUpper(strings.TrimRight(f[0], ";"))
}

// noteError marks an open transaction failed, as PostgreSQL does.
func (c *conn) noteError() {
	if c.inTxn {
		c.failed = true
	}
}

// run executes one translated statement with its parameters.
func (c *conn) run(st *statement, params map[int]any) (*result, *pgError) {
	if c.failed {
		allowed := st.kind == kindRollback || st.kind == kindCommit ||
			(st.kind == kindEngine && strings.HasPrefix(st.sql, "ROLLBACK TO"))
		if !allowed {
			return nil, newError(codeInFailedTransaction, "current transaction is aborted, commands ignored until end of transaction block")
		}
	}
	switch st.kind {
	case kindSet, kindShow, kindBegin, kindCommit, kindRollback, kindEmpty, kindNoop:
	default:
		c.txnUsed = c.txnUsed || c.inTxn
	}
	res, perr := c.runKind(st, params)
	if perr == errDeclined {
		return nil, perr // nothing ran: the statement runs from its text
	}
	if perr == nil && res.schema != nil && len(st.resultTypes) > 0 {
		res.schema, res.rows, perr = retype(st.resultTypes, res.schema, res.rows)
	}
	if perr != nil {
		c.noteError()
		return nil, perr
	}
	return res, nil
}

func (c *conn) runKind(st *statement, params map[int]any) (*result, *pgError) {
	switch st.kind {
	case kindEmpty:
		return &result{empty: true}, nil
	case kindNoop:
		return &result{tag: st.tag}, nil
	case kindEmptyRows:
		return &result{schema: emptySchema(st.columns), tag: "SELECT 0"}, nil
	case kindCopy:
		if st.copy.from {
			return c.copyFrom(st.copy)
		}
		return c.copyTo(st.copy)
	case kindSet:
		if perr := c.set(st.setName, st.setValue); perr != nil {
			return nil, perr
		}
		return &result{tag: st.tag}, nil
	case kindShow:
		res, perr := c.show(st.setName)
		if perr != nil && perr.Code == codeUndefinedObject && st.source != "" {
			// Not a setting: perhaps a Coffer statement (SHOW PROPOSALS).
			if eres, eerr := c.engineExec(st.source, nil, "", &statement{tag: "SHOW"}); eerr == nil {
				return eres, nil
			}
		}
		return res, perr
	case kindBegin:
		if c.inTxn {
			c.send(&pgproto3.NoticeResponse{Severity: "WARNING", Code: "25001", Message: "there is already a transaction in progress"})
			return &result{tag: "BEGIN"}, nil
		}
		level := ""
		if st.setValue != "" {
			var ok bool
			if level, ok = isolationLevel(st.setValue); !ok {
				return nil, invalidIsolation("transaction_isolation", st.setValue)
			}
		}
		if perr := c.beginBlock(level, st.readOnly); perr != nil {
			return nil, perr
		}
		return &result{tag: "BEGIN"}, nil
	case kindCommit, kindRollback:
		if !c.inTxn {
			c.send(&pgproto3.NoticeResponse{Severity: "WARNING", Code: "25P01", Message: "there is no transaction in progress"})
			return &result{tag: st.tag}, nil
		}
		q, tag := "COMMIT", "COMMIT"
		if st.kind == kindRollback || c.failed {
			q, tag = "ROLLBACK", "ROLLBACK"
		}
		c.inTxn, c.failed = false, false
		_, perr := c.engineExec(q, nil, "", nil)
		c.endTxn()
		if perr != nil {
			return nil, perr
		}
		return &result{tag: tag}, nil
	}
	if st.tag == "DROP INDEX" && st.sql == "" {
		return c.dropIndex(st)
	}
	if st.returningSelect != "" {
		return c.deleteReturning(st, params)
	}
	if st.returning != "" && st.tag == "INSERT" {
		return c.insertReturning(st, params)
	}
	q := st.sql
	if st.alterColumns != nil {
		var perr *pgError
		if q, perr = c.alterColumnsSQL(st.alterColumns); perr != nil {
			return nil, perr
		}
	}
	res, perr := c.engineExec(q, params, st.returning, st)
	if perr != nil {
		if st.pgErr != nil && perr.Code == codeSyntaxError {
			return nil, st.pgErr
		}
		return nil, perr
	}
	if st.enrollUser != "" {
		c.enrollProposed(st, res)
	}
	for _, q := range st.then {
		if _, perr := c.engineExec(q, nil, "", st); perr != nil {
			return nil, perr
		}
	}
	if strings.HasPrefix(st.sql, "ROLLBACK TO") {
		c.failed = false
	}
	return res, nil
}

// engineExec runs engine SQL, retrying an autocommit statement that lost
// a write conflict, and shapes the outcome as a PostgreSQL result.
func (c *conn) engineExec(query string, params map[int]any, returning string, st *statement) (*result, *pgError) {
	for attempt := 0; ; attempt++ {
		sch, rows, err := c.engineQuery(query, params, returning)
		if err == nil {
			return shapeResult(st, sch, rows), nil
		}
		if err == errFastDeclined {
			return nil, errDeclined
		}
		if gmssql.ErrLockDeadlock.Is(err) && !c.inTxn && c.sess.TakeRetryable() && attempt < c.s.cfg.MaxRetries {
			continue
		}
		if gmssql.ErrLockDeadlock.Is(err) && c.inTxn {
			// The engine discarded the transaction with the failed commit.
			c.endTxn()
		}
		return nil, toPGError(err)
	}
}

func (c *conn) engineQuery(query string, params map[int]any, returning string) (sch gmssql.Schema, rows []gmssql.Row, err error) {
	runCtx, cancel := context.WithCancel(c.ctx)
	c.runMu.Lock()
	c.runCancel = cancel
	c.runMu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			// An engine panic fails the statement, not the connection.
			c.s.cfg.Logger.Error("pgwire: engine panic", "query", query, "panic", r)
			err = newError(codeInternal, fmt.Sprint("internal error: ", r))
		}
		c.runMu.Lock()
		c.runCancel = nil
		c.runMu.Unlock()
		cancel()
		if errors.Is(err, context.Canceled) && c.ctx.Err() == nil {
			err = newError(codeQueryCanceled, "canceling statement due to user request")
		}
	}()
	ctx := c.newContext(runCtx)
	if returning == "" {
		if sch, rows, ok, err := c.fastQuery(ctx, query, params); ok {
			return sch, rows, err
		}
		if c.fastOnly {
			return nil, nil, errFastDeclined
		}
	}
	bindings, err := toBindings(params)
	if err != nil {
		return nil, nil, err
	}
	var parsed sqlparser.Statement
	key := query
	if returning != "" {
		if parsed, err = c.withReturning(ctx, query, returning); err != nil {
			return nil, nil, err
		}
		key = query + " RETURNING " + returning
		if _, err := c.s.engine.PrepareParsedQuery(ctx, key, key, parsed); err != nil {
			return nil, nil, err
		}
	}
	sch, iter, _, err := c.s.engine.QueryWithBindings(ctx, key, parsed, bindings, nil)
	if err != nil {
		return nil, nil, err
	}
	for {
		row, err := iter.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			iter.Close(ctx)
			return nil, nil, err
		}
		rows = append(rows, row)
	}
	if err := iter.Close(ctx); err != nil {
		return nil, nil, err
	}
	return sch, rows, nil
}

// withReturning parses an INSERT or UPDATE and attaches its RETURNING
// list, which the engine plans but its MySQL parser lacks. A * is
// expanded to the table's columns, and an INSERT names every column
// (DEFAULT for those the client left out): the engine evaluates RETURNING
// correctly only over a full column list.
func (c *conn) withReturning(ctx *gmssql.Context, query, returning string) (sqlparser.Statement, error) {
	parsed, err := sqlparser.Parse(query)
	if err != nil {
		return nil, err
	}
	var table string
	switch p := parsed.(type) {
	case *sqlparser.Insert:
		table = p.Table.Name.String()
	case *sqlparser.Update:
		if len(p.TableExprs) == 1 {
			if at, ok := p.TableExprs[0].(*sqlparser.AliasedTableExpr); ok {
				if tn, ok := at.Expr.(sqlparser.TableName); ok {
					table = tn.Name.String()
				}
			}
		}
	default:
		return nil, unsupported("RETURNING here")
	}
	var cols []string
	if tbl, _, err := c.s.engine.Analyzer.Catalog.Table(ctx, ctx.GetCurrentDatabase(), table); err == nil && tbl != nil {
		for _, col := range tbl.Schema() {
			cols = append(cols, col.Name)
		}
	}
	sel, err := sqlparser.Parse("SELECT " + returning)
	if err != nil {
		return nil, err
	}
	var exprs sqlparser.SelectExprs
	for _, e := range sel.(*sqlparser.Select).SelectExprs {
		if _, star := e.(*sqlparser.StarExpr); star && len(cols) > 0 {
			for _, name := range cols {
				exprs = append(exprs, &sqlparser.AliasedExpr{Expr: &sqlparser.ColName{Name: sqlparser.NewColIdent(name)}})
			}
			continue
		}
		exprs = append(exprs, e)
	}
	switch p := parsed.(type) {
	case *sqlparser.Insert:
		p.Returning = exprs
	case *sqlparser.Update:
		p.Returning = exprs
	}
	return parsed, nil
}

// deleteReturning reads the rows a DELETE … RETURNING removes, then
// deletes them, in one transaction.
func (c *conn) deleteReturning(st *statement, params map[int]any) (*result, *pgError) {
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
	sel, err := c.engineExec(st.returningSelect, params, "", &statement{tag: "SELECT"})
	if err != nil {
		return abort(err)
	}
	del, err := c.engineExec(st.sql, params, "", st)
	if err != nil {
		return abort(err)
	}
	if own {
		if _, perr := c.engineExec("COMMIT", nil, "", nil); perr != nil {
			return nil, perr
		}
	}
	return &result{schema: sel.schema, rows: sel.rows, tag: del.tag}, nil
}

func toBindings(params map[int]any) (map[string]sqlparser.Expr, error) {
	if len(params) == 0 {
		return nil, nil
	}
	b := make(map[string]sqlparser.Expr, len(params))
	for i, v := range params {
		name := "v" + strconv.Itoa(i)
		switch x := v.(type) {
		case nil:
			b[name] = &sqlparser.NullVal{}
		case int64:
			b[name] = sqlparser.NewIntVal([]byte(strconv.FormatInt(x, 10)))
		case float64:
			b[name] = sqlparser.NewFloatVal([]byte(strconv.FormatFloat(x, 'g', -1, 64)))
		case bool:
			b[name] = sqlparser.BoolVal(x)
		case string:
			b[name] = sqlparser.NewStrVal([]byte(x))
		case []byte:
			b[name] = sqlparser.NewHexVal([]byte(fmt.Sprintf("%x", x)))
		case time.Time:
			b[name] = sqlparser.NewStrVal([]byte(x.UTC().Format("2006-01-02 15:04:05.999999")))
		default:
			return nil, fmt.Errorf("pgwire: parameter $%d of type %T", i, v)
		}
	}
	return b, nil
}

func shapeResult(st *statement, sch gmssql.Schema, rows []gmssql.Row) *result {
	tag := "OK"
	if st != nil {
		tag = st.tag
	}
	if types.IsOkResultSchema(sch) || len(sch) == 0 {
		var n uint64
		if len(rows) == 1 {
			if ok, isOK := rows[0][0].(types.OkResult); isOK {
				n = ok.RowsAffected
				if ui, isUI := ok.Info.(plan.UpdateInfo); isUI {
					n = uint64(ui.Matched)
				}
			}
		}
		return &result{tag: countTag(tag, n)}
	}
	if tag == "EXPLAIN" || tag == "SHOW" {
		return &result{schema: sch, rows: rows, tag: tag}
	}
	return &result{schema: sch, rows: rows, tag: countTag(tag, uint64(len(rows)))}
}

func countTag(tag string, n uint64) string {
	switch tag {
	case "INSERT":
		return "INSERT 0 " + strconv.FormatUint(n, 10)
	case "SELECT", "UPDATE", "DELETE":
		return tag + " " + strconv.FormatUint(n, 10)
	}
	return tag
}

func (c *conn) show(name string) (*result, *pgError) {
	col := &gmssql.Column{Name: name, Type: types.LongText}
	if name == "all" {
		sch := gmssql.Schema{{Name: "name", Type: types.LongText}, {Name: "setting", Type: types.LongText}, {Name: "description", Type: types.LongText}}
		var rows []gmssql.Row
		for _, k := range c.settingNames() {
			rows = append(rows, gmssql.Row{k, c.setting(k), ""})
		}
		return &result{schema: sch, rows: rows, tag: "SHOW"}, nil
	}
	v, ok := c.settings[name]
	if name == "is_superuser" || name == "session_authorization" {
		v, ok = c.setting(name), true
	}
	if !ok {
		return nil, newError(codeUndefinedObject, fmt.Sprintf("unrecognized configuration parameter %q", name))
	}
	return &result{schema: gmssql.Schema{col}, rows: []gmssql.Row{{v}}, tag: "SHOW"}, nil
}

// dropIndex runs DROP INDEX name: the engine drops indexes through their
// table, so the table is found first.
func (c *conn) dropIndex(st *statement) (*result, *pgError) {
	name := st.setName
	_, rows, err := c.engineQuery("SELECT DISTINCT table_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name = "+quoteString(name), nil, "")
	if err != nil {
		return nil, toPGError(err)
	}
	if len(rows) == 0 {
		if st.readOnly { // IF EXISTS
			c.send(&pgproto3.NoticeResponse{Severity: "NOTICE", Code: "00000", Message: fmt.Sprintf("index %q does not exist, skipping", name)})
			return &result{tag: "DROP INDEX"}, nil
		}
		return nil, newError(codeUndefinedObject, fmt.Sprintf("index %q does not exist", name))
	}
	if _, perr := c.engineExec("DROP INDEX "+quoteIdent(name)+" ON "+quoteIdent(fmt.Sprint(rows[0][0])), nil, "", nil); perr != nil {
		return nil, perr
	}
	return &result{tag: "DROP INDEX"}, nil
}

func rowDescription(sch gmssql.Schema, formats []int16) *pgproto3.RowDescription {
	rd := &pgproto3.RowDescription{Fields: make([]pgproto3.FieldDescription, len(sch))}
	for i, col := range sch {
		oid := typeOID(col.Type)
		rd.Fields[i] = pgproto3.FieldDescription{
			Name: []byte(col.Name), DataTypeOID: oid, DataTypeSize: typeSize(oid), TypeModifier: typeModifier(col.Type, oid),
			Format: formatFor(formats, i),
		}
	}
	return rd
}

// formatFor picks column i's format from Bind's result format codes.
func formatFor(formats []int16, i int) int16 {
	switch len(formats) {
	case 0:
		return 0
	case 1:
		return formats[0]
	}
	if i < len(formats) {
		return formats[i]
	}
	return 0
}

func (c *conn) sendRows(sch gmssql.Schema, rows []gmssql.Row, formats []int16) *pgError {
	ctx := c.newContext(c.ctx)
	oids := make([]uint32, len(sch))
	for i, col := range sch {
		oids[i] = typeOID(col.Type)
	}
	// One DataRow for all: send encodes it before the next row.
	dr := &pgproto3.DataRow{}
	for _, row := range rows {
		dr.Values = slices.Grow(dr.Values[:0], len(row))[:len(row)]
		clear(dr.Values)
		for i, v := range row {
			if i >= len(sch) {
				break
			}
			var b []byte
			var err error
			if formatFor(formats, i) == 1 {
				b, err = encodeBinary(ctx, sch[i].Type, oids[i], v)
			} else {
				b, err = encodeText(ctx, sch[i].Type, oids[i], v)
			}
			if err != nil {
				return toPGError(err)
			}
			dr.Values[i] = b
		}
		c.send(dr)
	}
	return nil
}

var _ = sqltypes.Null

func emptySchema(cols []string) gmssql.Schema {
	sch := make(gmssql.Schema, len(cols))
	for i, c := range cols {
		sch[i] = &gmssql.Column{Name: c, Type: types.LongText}
	}
	return sch
}
