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

// maxTxnControlLen bounds the texts LooksLikeTxnControl accepts: the
// longest form, "START TRANSACTION READ WRITE;", with room for spaces and
// a comment.
const maxTxnControlLen = 64

// LooksLikeTxnControl reports whether query may be a transaction-control
// statement, without parsing it: a text sent as such (COM_QUERY) is worth
// FastForm's parse only then.
func LooksLikeTxnControl(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n")
	return len(q) > 0 && len(q) <= maxTxnControlLen && strings.ContainsRune("bBsScCrR", rune(q[0]))
}

// txnControlOf classifies a parsed BEGIN, COMMIT or ROLLBACK.
func txnControlOf(stmt sqlparser.Statement) TxnControl {
	switch n := stmt.(type) {
	case *sqlparser.Begin:
		switch n.TransactionCharacteristic {
		case "", sqlparser.TxReadWrite:
			return TxnBegin
		case sqlparser.TxReadOnly:
			return TxnBeginReadOnly
		}
	case *sqlparser.Commit:
		return TxnCommit
	case *sqlparser.Rollback:
		return TxnRollback
	}
	return TxnNone
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
	e.fast.hits.Add(1)
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
