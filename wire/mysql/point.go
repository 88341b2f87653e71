package mysql

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"

	gmsserver "github.com/dolthub/go-mysql-server/server"
	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	vmysql "github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/cofferdb/coffer/sql/engine"
)

// Prepared point selects (engine.PointSelect) are answered without
// go-mysql-server's handler: no plan is bound, analyzed or built, and no
// goroutines are started for a one-row result.

// maxPointStmts bounds how many distinct statement texts are remembered.
const maxPointStmts = 10000

// pointStmts remembers, per prepared statement text, its point-select form
// (nil: not one), shared by every connection.
type pointStmts struct {
	m    sync.Map // query → *engine.PointSelect (nil when not a point select)
	n    atomic.Int64
	hits atomic.Uint64 // executions answered
}

func (p *pointStmts) get(query string) *engine.PointSelect {
	if v, ok := p.m.Load(query); ok {
		return v.(*engine.PointSelect)
	}
	ps := engine.ParsePointSelect(query)
	if p.n.Load() < maxPointStmts {
		if _, loaded := p.m.LoadOrStore(query, ps); !loaded {
			p.n.Add(1)
		}
	}
	return ps
}

// execPoint answers a point select; handled=false leaves the statement to
// go-mysql-server's handler.
func (s *Server) execPoint(ctx context.Context, c *vmysql.Conn, prepare *vmysql.PrepareData, callback func(*sqltypes.Result) error) (handled bool, err error) {
	ps := s.points.get(prepare.PrepareStmt)
	if ps == nil {
		return false, nil
	}
	sess := s.session(c)
	if sess == nil {
		return false, nil
	}
	sqlCtx := gmssql.NewContext(ctx, gmssql.WithSession(sess))
	res, handled, err := s.e.ExecPointSelect(sqlCtx, ps, func(name string) (any, bool) {
		return intArg(prepare.BindVars[name])
	})
	if !handled || err != nil {
		return handled, err
	}
	s.points.hits.Add(1)
	if sqlCtx.GetTransaction() != nil {
		c.StatusFlags |= uint16(vmysql.ServerInTransaction)
	} else {
		c.StatusFlags &^= uint16(vmysql.ServerInTransaction)
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

// intArg returns an integer parameter's value.
func intArg(bv *querypb.BindVariable) (any, bool) {
	if bv == nil {
		return nil, false
	}
	switch {
	case sqltypes.IsSigned(bv.Type):
		n, err := strconv.ParseInt(string(bv.Value), 10, 64)
		return n, err == nil
	case sqltypes.IsUnsigned(bv.Type):
		n, err := strconv.ParseUint(string(bv.Value), 10, 64)
		return n, err == nil
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
