package engine

import (
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/cofferdb/coffer/sql/txn"
)

// TxnControl is a transaction-control statement the fast path runs:
// BEGIN / START TRANSACTION [READ WRITE | READ ONLY], COMMIT and ROLLBACK.
// Through go-mysql-server each costs a statement's whole pipeline (the
// process list, binding, analysis, the executor) around one call into the
// session; sysbench's OLTP transactions send two per transaction, and the
// pipeline was a tenth of the CPU of oltp_write_only.
type TxnControl uint8

// The transaction-control statements.
const (
	TxnNone TxnControl = iota
	TxnBegin
	TxnBeginReadOnly
	TxnCommit
	TxnRollback
)

// maxTxnControlLen bounds the texts TxnControlOf parses: the longest
// form, "START TRANSACTION READ WRITE;", with room for spaces and a
// comment.
const maxTxnControlLen = 64

// TxnControlOf classifies query, remembering the answer per text. Texts
// that cannot be one (long ones, ones starting with another letter) are
// answered without parsing.
func (e *Engine) TxnControlOf(query string) TxnControl {
	q := strings.TrimLeft(query, " \t\r\n")
	if len(q) == 0 || len(q) > maxTxnControlLen || !strings.ContainsRune("bBsScCrR", rune(q[0])) {
		return TxnNone
	}
	if v, ok := e.txnForms.Load(query); ok {
		return v.(TxnControl)
	}
	k := TxnNone
	if stmt, err := sqlparser.Parse(query); err == nil {
		switch n := stmt.(type) {
		case *sqlparser.Begin:
			switch n.TransactionCharacteristic {
			case "", sqlparser.TxReadWrite:
				k = TxnBegin
			case sqlparser.TxReadOnly:
				k = TxnBeginReadOnly
			}
		case *sqlparser.Commit:
			k = TxnCommit
		case *sqlparser.Rollback:
			k = TxnRollback
		}
	}
	if e.txnFormsN.Load() < maxFastForms {
		if _, loaded := e.txnForms.LoadOrStore(query, k); !loaded {
			e.txnFormsN.Add(1)
		}
	}
	return k
}

// ExecTxnControl runs k in ctx's session as go-mysql-server's
// StartTransaction, Commit and Rollback nodes do (sql/rowexec/
// transaction.go): BEGIN first commits an open transaction, then starts
// one that autocommit leaves open; COMMIT and ROLLBACK end the open one,
// if any. handled is false when the fast path declines (not a Coffer
// session, or a read-only server, whose checks go-mysql-server makes).
func (e *Engine) ExecTxnControl(ctx *gmssql.Context, k TxnControl) (handled bool, err error) {
	sess, ok := ctx.Session.(*txn.Session)
	if !ok || k == TxnNone || e.IsReadOnly() {
		return false, nil
	}
	ctx.ClearWarnings()
	tx := ctx.GetTransaction()
	switch k {
	case TxnBegin, TxnBeginReadOnly:
		if tx != nil {
			if err := sess.CommitTransaction(ctx, tx); err != nil {
				return true, err
			}
		}
		c := gmssql.ReadWrite
		if k == TxnBeginReadOnly {
			c = gmssql.ReadOnly
		}
		ntx, err := sess.StartTransaction(ctx, c)
		if err != nil {
			return true, err
		}
		ctx.SetTransaction(ntx)
		ctx.SetIgnoreAutoCommit(true)
	case TxnCommit, TxnRollback:
		if tx == nil {
			return true, nil
		}
		if k == TxnCommit {
			err = sess.CommitTransaction(ctx, tx)
		} else {
			err = sess.Rollback(ctx, tx)
		}
		if err != nil {
			return true, err
		}
		ctx.SetIgnoreAutoCommit(false)
		ctx.SetTransaction(nil)
	}
	return true, nil
}
