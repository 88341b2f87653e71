package mysql

import (
	"context"
	"errors"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	vmysql "github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/cofferdb/coffer/sql/engine"
)

// retryHandler gives errors their MySQL numbers and SQLSTATEs, and runs
// an autocommit statement again when its commit lost a
// write conflict (first committer wins) and nothing was sent to the client
// yet. Statements inside an explicit transaction are never retried: the
// client gets 1213 / 40001 and decides.
type retryHandler struct {
	vmysql.Handler
	s *Server
}

// NewConnection sets the status flags of the greeting and of the OK
// packet that ends the handshake: autocommit, as a new session starts
// (the global autocommit). go-mysql-server's handler leaves them 0 until
// its first statement, and a driver that trusts them (PyMySQL with its
// default autocommit=False) would then skip its SET autocommit=0 and have
// every statement committed at once.
func (h *retryHandler) NewConnection(c *vmysql.Conn) {
	h.Handler.NewConnection(c)
	if defaultAutocommit() {
		c.StatusFlags |= uint16(vmysql.ServerStatusAutocommit)
	}
}

// defaultAutocommit is the global autocommit, which new sessions start
// with.
func defaultAutocommit() bool {
	_, v, ok := gmssql.SystemVariables.GetGlobal("autocommit")
	if !ok {
		return true
	}
	on, err := gmssql.ConvertToBool(gmssql.NewEmptyContext(), v)
	return err != nil || on
}

func (h *retryHandler) ComQuery(ctx context.Context, c *vmysql.Conn, query string, callback vmysql.ResultSpoolFn) error {
	if err := checkPacketSize(query); err != nil {
		return err
	}
	h.s.begin()
	defer h.s.end(c)
	ctx, stop := watchClient(ctx, c.Conn)
	defer stop()
	// A statement with its values written in takes the fast paths as
	// its prepared form would (engine.NormalizeLiterals), and so does
	// BEGIN, COMMIT or ROLLBACK (engine.TxnControl).
	var prep *vmysql.PrepareData
	if h.s.fast != nil {
		if norm, vals, ok := engine.NormalizeLiterals(query); ok {
			prep = &vmysql.PrepareData{PrepareStmt: norm, BindVars: vals}
		} else if engine.LooksLikeTxnControl(query) {
			prep = &vmysql.PrepareData{PrepareStmt: query}
		}
	}
	return h.retrying(c, func(sent *bool) error {
		if prep != nil {
			handled, err := h.s.execFast(ctx, c, prep, func(r *sqltypes.Result) error {
				*sent = true
				return callback(r, false)
			})
			if handled {
				return err
			}
		}
		return h.Handler.ComQuery(ctx, c, query, func(r *sqltypes.Result, more bool) error {
			*sent = true
			return callback(r, more)
		})
	})
}

func (h *retryHandler) ComStmtExecute(ctx context.Context, c *vmysql.Conn, prepare *vmysql.PrepareData, callback func(*sqltypes.Result) error) error {
	h.s.begin()
	defer h.s.end(c)
	return h.retrying(c, func(sent *bool) error {
		send := func(r *sqltypes.Result) error {
			*sent = true
			return callback(r)
		}
		if h.s.fast != nil {
			if handled, err := h.s.execFast(ctx, c, prepare, send); handled {
				return err
			}
		}
		wctx, stop := watchClient(ctx, c.Conn)
		defer stop()
		return h.Handler.ComStmtExecute(wctx, c, prepare, send)
	})
}

func (h *retryHandler) ComMultiQuery(ctx context.Context, c *vmysql.Conn, query string, callback vmysql.ResultSpoolFn) (string, error) {
	if err := checkPacketSize(query); err != nil {
		return "", err
	}
	h.s.begin()
	defer h.s.end(c)
	ctx, stop := watchClient(ctx, c.Conn)
	defer stop()
	// Clients that enable multi-statements (the mysql CLI, sysbench,
	// some PHP drivers) send every query this way, one statement of it
	// per call: retried like ComQuery's.
	var rest string
	err := h.retrying(c, func(sent *bool) error {
		var err error
		rest, err = h.Handler.ComMultiQuery(ctx, c, query, func(r *sqltypes.Result, more bool) error {
			*sent = true
			return callback(r, more)
		})
		return err
	})
	return rest, err
}

func (h *retryHandler) ComPrepare(ctx context.Context, c *vmysql.Conn, query string, prepare *vmysql.PrepareData) ([]*querypb.Field, error) {
	if err := checkPacketSize(query); err != nil {
		return nil, err
	}
	f, err := h.Handler.ComPrepare(ctx, c, query, prepare)
	return f, fixSQLError(err)
}

func (h *retryHandler) ComInitDB(c *vmysql.Conn, schemaName string) error {
	return fixSQLError(h.Handler.ComInitDB(c, schemaName))
}

func (h *retryHandler) ConnectionClosed(c *vmysql.Conn) {
	h.Handler.ConnectionClosed(c)
	h.s.sessions.Delete(c.ConnectionID)
}

// retrying runs a statement, and runs it again while retry allows: its
// result callbacks set *sent once they send the client something. It
// returns the last run's error with its MySQL number and SQLSTATE.
func (h *retryHandler) retrying(c *vmysql.Conn, run func(sent *bool) error) error {
	for attempt := 0; ; attempt++ {
		sent := false
		err := run(&sent)
		if !h.retry(c, err, sent, attempt) {
			return fixSQLError(err)
		}
	}
}

func (h *retryHandler) retry(c *vmysql.Conn, err error, sent bool, attempt int) bool {
	if !isSerializationFailure(err) {
		return false
	}
	sess := h.s.session(c)
	if sess == nil || !sess.TakeRetryable() || sent || attempt >= h.s.cfg.MaxRetries {
		return false
	}
	h.s.cfg.Logger.Debug("retrying autocommit statement after write conflict", "conn", c.ConnectionID, "attempt", attempt+1)
	return true
}

// isSerializationFailure reports MySQL error 1213, before or after the
// handler converted it to a wire error.
func isSerializationFailure(err error) bool {
	if err == nil {
		return false
	}
	if gmssql.ErrLockDeadlock.Is(err) {
		return true
	}
	var se *vmysql.SQLError
	return errors.As(err, &se) && se.Num == vmysql.ERLockDeadlock
}
