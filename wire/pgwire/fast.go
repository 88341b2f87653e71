package pgwire

import (
	"strconv"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/cofferdb/coffer/sql/engine"
)

// fastQuery answers a primary-key point or range select, a single-row insert of
// parameters, a primary-key update or delete, or the start or end of a
// transaction without go-mysql-server's analyzer (engine.PointSelect, engine.PointInsert, engine.PointWrite: the
// same answers, rows, counts and errors). ok is false when
// the statement has no fast form or the engine declines it.
func (c *conn) fastQuery(ctx *gmssql.Context, query string, params map[int]any) (sch gmssql.Schema, rows []gmssql.Row, ok bool, err error) {
	if len(params) == 0 && engine.LooksLikeTxnControl(query) {
		if f := c.s.engine.FastForm(query); f.Txn != engine.TxnNone {
			// START TRANSACTION, COMMIT and ROLLBACK as query.go sends
			// them once it has settled the wire's own transaction state:
			// the engine call go-mysql-server's transaction nodes make,
			// without its statement pipeline.
			handled, err := c.s.engine.ExecTxnControl(ctx, f.Txn)
			if !handled {
				return nil, nil, false, nil
			}
			return types.OkResultSchema, []gmssql.Row{{types.NewOkResult(0)}}, true, err
		}
	}
	if len(params) == 0 {
		// A simple query, or a prepared one without parameters: its
		// values are written in. The fast paths take it as its prepared
		// form (engine.NormalizeLiterals).
		norm, vals, ok := engine.NormalizeLiterals(query)
		if !ok {
			return nil, nil, false, nil
		}
		query, params = norm, make(map[int]any, len(vals))
		for name, bv := range vals {
			i, err := strconv.Atoi(strings.TrimPrefix(name, "v"))
			if err != nil {
				return nil, nil, false, nil
			}
			switch {
			case sqltypes.IsSigned(bv.Type):
				n, err := strconv.ParseInt(string(bv.Value), 10, 64)
				if err != nil {
					return nil, nil, false, nil
				}
				params[i] = n
			case sqltypes.IsQuoted(bv.Type):
				params[i] = string(bv.Value)
			default:
				return nil, nil, false, nil // not a value the Postgres wire binds
			}
		}
	}
	f := c.s.engine.FastForm(query)
	if f.IsZero() || f.Txn != engine.TxnNone {
		return nil, nil, false, nil
	}
	arg := func(name string) (any, bool) {
		i, err := strconv.Atoi(strings.TrimPrefix(name, "v"))
		if err != nil {
			return nil, false
		}
		v, ok := params[i]
		if !ok {
			return nil, false
		}
		switch v.(type) {
		case nil, int64, float64, string:
			return v, true
		}
		return nil, false
	}
	intArg := func(name string) (any, bool) {
		v, ok := arg(name)
		if _, isInt := v.(int64); !isInt {
			return nil, false
		}
		return v, ok
	}
	if f.Select != nil {
		res, handled, err := c.s.engine.ExecPointSelect(ctx, f.Select, intArg)
		if !handled || err != nil {
			return nil, nil, handled, err
		}
		if res.Row != nil {
			rows = []gmssql.Row{res.Row}
		}
		return res.Schema, rows, true, nil
	}
	if f.Range != nil {
		res, handled, err := c.s.engine.ExecRangeSelect(ctx, f.Range, intArg)
		if !handled || err != nil {
			return nil, nil, handled, err
		}
		return res.Schema, res.Rows, true, nil
	}
	if f.Write != nil {
		res, handled, err := c.s.engine.ExecPointWrite(ctx, f.Write, arg)
		if !handled || err != nil {
			return nil, nil, handled, err
		}
		return types.OkResultSchema, []gmssql.Row{{res}}, true, nil
	}
	res, handled, err := c.s.engine.ExecPointInsert(ctx, f.Insert, arg)
	if !handled || err != nil {
		return nil, nil, handled, err
	}
	return types.OkResultSchema, []gmssql.Row{{types.OkResult{RowsAffected: 1, InsertID: res.InsertID}}}, true, nil
}
