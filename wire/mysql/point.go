package mysql

import (
	"context"
	"strconv"
	"sync/atomic"

	gmsserver "github.com/dolthub/go-mysql-server/server"
	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	vmysql "github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/cofferdb/coffer/sql/engine"
	"github.com/cofferdb/coffer/sql/txn"
)

// Prepared point selects, single-row inserts and primary-key updates and
// deletes (engine.PointSelect, engine.PointInsert, engine.PointWrite) are
// answered without go-mysql-server's handler: no plan is bound, analyzed
// or built, and no goroutines are started.

// fastHits counts executions the fast paths answered, and how many of
// them were answered from the packet, in the read path (execute.go).
type fastHits struct{ hits, packets atomic.Uint64 }

// execFast answers a statement with a fast form; handled=false leaves it
// to go-mysql-server's handler.
func (s *Server) execFast(ctx context.Context, c *vmysql.Conn, prepare *vmysql.PrepareData, callback func(*sqltypes.Result) error) (handled bool, err error) {
	fs := s.e.FastForm(prepare.PrepareStmt)
	if fs.IsZero() {
		return false, nil
	}
	if fs.Txn != engine.TxnNone {
		return s.execTxnControl(ctx, c, fs.Txn, callback)
	}
	if fs.Insert != nil || fs.Write != nil {
		r, handled, err := s.execFastWrite(ctx, c, fs, func(name string) (any, bool) { return argValue(prepare.BindVars[name]) })
		if !handled || err != nil {
			return handled, err
		}
		return true, callback(r)
	}
	sess := s.session(c)
	if sess == nil {
		return false, nil
	}
	sqlCtx := gmssql.NewContext(ctx, gmssql.WithSession(sess))
	if fs.Select != nil {
		handled, err = s.execPointSelect(sqlCtx, fs.Select, prepare, callback)
	} else {
		handled, err = s.execRangeSelect(sqlCtx, fs.Range, prepare, callback)
	}
	if !handled {
		return false, nil
	}
	s.fast.hits.Add(1)
	if err != nil {
		return true, gmssql.CastSQLError(err)
	}
	setStatusFlags(c, sqlCtx, sess)
	return true, nil
}

// execFastWrite runs fs, a single-row insert or a primary-key update or
// delete, with its parameters from arg, and returns the OK result to
// send; handled=false leaves the statement to go-mysql-server's handler
// (nothing was done).
func (s *Server) execFastWrite(ctx context.Context, c *vmysql.Conn, fs engine.FastForm, arg func(name string) (any, bool)) (r *sqltypes.Result, handled bool, err error) {
	sess := s.session(c)
	if sess == nil {
		return nil, false, nil
	}
	sqlCtx := gmssql.NewContext(ctx, gmssql.WithSession(sess))
	if fs.Insert != nil {
		var res engine.InsertResult
		res, handled, err = s.e.ExecPointInsert(sqlCtx, fs.Insert, arg)
		if handled && err == nil {
			r = &sqltypes.Result{RowsAffected: 1, InsertID: res.InsertID}
		}
	} else {
		var res types.OkResult
		res, handled, err = s.e.ExecPointWrite(sqlCtx, fs.Write, arg)
		if handled && err == nil {
			r = resultFromOK(res)
		}
	}
	if !handled {
		return nil, false, nil
	}
	s.fast.hits.Add(1)
	if err != nil {
		return nil, true, gmssql.CastSQLError(err)
	}
	setStatusFlags(c, sqlCtx, sess)
	return r, true, nil
}

// execTxnControl runs BEGIN, COMMIT or ROLLBACK without go-mysql-server's
// statement pipeline (engine.ExecTxnControl) and answers with an OK packet
// whose status flags say whether a transaction is open.
func (s *Server) execTxnControl(ctx context.Context, c *vmysql.Conn, k engine.TxnControl, callback func(*sqltypes.Result) error) (bool, error) {
	sess := s.session(c)
	if sess == nil {
		return false, nil
	}
	sqlCtx := gmssql.NewContext(ctx, gmssql.WithSession(sess))
	handled, err := s.e.ExecTxnControl(sqlCtx, k)
	if !handled {
		return false, nil
	}
	s.fast.hits.Add(1)
	setStatusFlags(c, sqlCtx, sess)
	if err != nil {
		return true, gmssql.CastSQLError(err)
	}
	return true, callback(&sqltypes.Result{})
}

// setStatusFlags sets the status flags the statement's OK or EOF packet
// carries, as go-mysql-server's handler does after its statements
// (setConnStatusFlags, unexported there): whether the session is in
// autocommit mode and whether a transaction is open. Drivers act on them:
// PyMySQL, for one, sends SET autocommit only when the flags disagree
// with the mode its application asked for.
func setStatusFlags(c *vmysql.Conn, ctx *gmssql.Context, sess *txn.Session) {
	if ac, err := sess.Autocommit(ctx); err == nil && ac {
		c.StatusFlags |= uint16(vmysql.ServerStatusAutocommit)
	} else {
		c.StatusFlags &^= uint16(vmysql.ServerStatusAutocommit)
	}
	if ctx.GetTransaction() != nil {
		c.StatusFlags |= uint16(vmysql.ServerInTransaction)
	} else {
		c.StatusFlags &^= uint16(vmysql.ServerInTransaction)
	}
}

// resultFromOK is the OK packet go-mysql-server's handler sends for an OK
// result (server.resultFromOkResult, unexported there): rows affected,
// insert id and the info string ("Rows matched: 1  Changed: 1  Warnings: 0").
func resultFromOK(res types.OkResult) *sqltypes.Result {
	r := &sqltypes.Result{RowsAffected: res.RowsAffected, InsertID: res.InsertID}
	if res.Info != nil {
		r.Info = res.Info.String()
	}
	return r
}

// intArg returns a parameter's value when it is an integer (the fast
// selects' key values).
func intArg(prepare *vmysql.PrepareData) func(name string) (any, bool) {
	return func(name string) (any, bool) {
		v, ok := argValue(prepare.BindVars[name])
		switch v.(type) {
		case int64, uint64:
			return v, ok
		}
		return nil, false
	}
}

// execRangeSelect runs a range select and sends its result.
func (s *Server) execRangeSelect(sqlCtx *gmssql.Context, rs *engine.RangeSelect, prepare *vmysql.PrepareData, callback func(*sqltypes.Result) error) (bool, error) {
	res, handled, err := s.e.ExecRangeSelectWire(sqlCtx, rs, intArg(prepare))
	if !handled || err != nil {
		return handled, err
	}
	if res.Values != nil {
		// The callback writes the rows out before it returns.
		defer res.Release()
		return true, callback(&sqltypes.Result{Fields: resultFields(sqlCtx, res.Schema), Rows: res.Values, RowsAffected: uint64(len(res.Values))})
	}
	r := &sqltypes.Result{Fields: resultFields(sqlCtx, res.Schema), Rows: make([][]sqltypes.Value, 0, len(res.Rows))}
	for _, row := range res.Rows {
		// Each row gets its own values: the result is sent after the loop.
		vals, err := gmsserver.RowToSQL(sqlCtx, res.Schema, row, nil, nil)
		if err != nil {
			return true, err
		}
		r.Rows = append(r.Rows, vals)
	}
	r.RowsAffected = uint64(len(r.Rows))
	return true, callback(r)
}

// execPointSelect runs a point select and sends its result.
func (s *Server) execPointSelect(sqlCtx *gmssql.Context, ps *engine.PointSelect, prepare *vmysql.PrepareData, callback func(*sqltypes.Result) error) (bool, error) {
	res, handled, err := s.e.ExecPointSelect(sqlCtx, ps, intArg(prepare))
	if !handled || err != nil {
		return handled, err
	}
	r := &sqltypes.Result{Fields: resultFields(sqlCtx, res.Schema)}
	if res.Row == nil {
		return true, callback(r)
	}
	buf := gmssql.ByteBufPool.Get().(*gmssql.ByteBuffer)
	defer func() {
		buf.Reset()
		gmssql.ByteBufPool.Put(buf)
	}()
	row, err := gmsserver.RowToSQL(sqlCtx, res.Schema, res.Row, nil, buf)
	if err != nil {
		return true, err
	}
	r.Rows, r.RowsAffected = [][]sqltypes.Value{row}, 1
	return true, callback(r)
}

// argValue returns a parameter's value as go-mysql-server binds it: an
// int64, uint64, float64, string or nil (NULL); ok is false for any other
// kind of value (decimals, JSON, …).
func argValue(bv *querypb.BindVariable) (any, bool) {
	if bv == nil {
		return nil, false
	}
	switch {
	case bv.Type == sqltypes.Null:
		return nil, true
	case sqltypes.IsSigned(bv.Type):
		n, err := strconv.ParseInt(string(bv.Value), 10, 64)
		return n, err == nil
	case sqltypes.IsUnsigned(bv.Type):
		n, err := strconv.ParseUint(string(bv.Value), 10, 64)
		return n, err == nil
	case sqltypes.IsFloat(bv.Type):
		f, err := strconv.ParseFloat(string(bv.Value), 64)
		return f, err == nil
	case sqltypes.IsQuoted(bv.Type):
		// go-mysql-server makes every quoted value (text or binary, as
		// drivers send strings) a string literal.
		return string(bv.Value), true
	}
	return nil, false
}

// resultFields describes columns as go-mysql-server's handler does
// (server.schemaToFields, unexported there); TestPointSelectMatchesEngine
// compares the two.
func resultFields(ctx *gmssql.Context, sch gmssql.Schema) []*querypb.Field {
	charSetResults := ctx.GetCharacterSetResults()
	fields := make([]*querypb.Field, len(sch))
	for i, c := range sch {
		charset := uint32(gmssql.Collation_Default.CharacterSet())
		if ct, ok := c.Type.(gmssql.TypeWithCollation); ok {
			charset = uint32(ct.Collation().CharacterSet())
		}
		if types.IsBinaryType(c.Type) {
			charset = uint32(gmssql.Collation_binary)
		} else if charSetResults != gmssql.CharacterSet_Unspecified {
			charset = uint32(charSetResults)
		}
		var flags querypb.MySqlFlag
		if !c.Nullable {
			flags |= querypb.MySqlFlag_NOT_NULL_FLAG
		}
		if c.AutoIncrement {
			flags |= querypb.MySqlFlag_AUTO_INCREMENT_FLAG
		}
		if c.PrimaryKey {
			flags |= querypb.MySqlFlag_PRI_KEY_FLAG
		}
		if types.IsUnsigned(c.Type) {
			flags |= querypb.MySqlFlag_UNSIGNED_FLAG
		}
		fields[i] = &querypb.Field{
			Name: c.Name, OrgName: c.Name, Table: c.Source, OrgTable: c.Source, Database: c.DatabaseSource,
			Type: c.Type.Type(), Charset: charset, ColumnLength: c.Type.MaxTextResponseByteLength(ctx), Flags: uint32(flags),
		}
		if types.IsDecimal(c.Type) {
			fields[i].Decimals = uint32(c.Type.(gmssql.DecimalType).Scale())
		} else if types.IsDatetimeType(c.Type) {
			fields[i].Decimals = uint32(c.Type.(gmssql.DatetimeType).Precision())
		}
	}
	return fields
}
