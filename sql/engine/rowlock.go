package engine

import (
	"bytes"
	"errors"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"

	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

// The engine's side of row locks (txn/locks.go): the point write fast
// path takes them (ExecPointWrite); this file holds what it does when a
// lock cannot be had, or the locked row changed after the snapshot.

// unchangedSince fails the statement — and the transaction, as its
// commit would fail — when the row at key, which tx has locked, changed
// after tx's snapshot and tx has not written it: under snapshot isolation
// tx would lose the conflict at commit (first committer wins), so it is
// told now rather than after more work. In autocommit the server runs the
// statement again from a new snapshot.
//
// A transaction that has read and written nothing yet (its first
// statement is this one) moves its snapshot to the newest visible commit
// instead, when that includes the row's change (txn.AdvanceSnapshot): its
// snapshot is taken, as MySQL takes it, at its first read.
func (e *Engine) unchangedSince(ctx *gmssql.Context, sess *txn.Session, tx *txn.Transaction, key []byte) error {
	if tx.Wrote(key) {
		return nil
	}
	seq, ok, err := e.cfg.DB.NewestSeq(key)
	if err != nil || !ok || seq <= tx.ReadSeq() {
		return err
	}
	if visible := e.cfg.DB.ReadSeq(); visible >= seq && tx.AdvanceSnapshot(visible, e.cfg.DB.SystemSeq()) {
		return nil
	}
	return sess.Conflict(ctx, &storage.ConflictError{Key: bytes.Clone(key), ReadSeq: tx.ReadSeq(), Conflict: seq})
}

// LockWaitTimeout bounds how long a statement waits for a row lock
// (MySQL's innodb_lock_wait_timeout default).
var LockWaitTimeout = 50 * time.Second

// lockError turns a failure to take a row lock into the statement's
// error. A deadlock rolls the whole transaction back, as MySQL does; a
// timeout fails the statement only.
func lockError(ctx *gmssql.Context, err error) error {
	switch {
	case errors.Is(err, txn.ErrDeadlock):
		ctx.SetTransaction(nil)
		ctx.SetIgnoreAutoCommit(false)
		return gmssql.ErrLockDeadlock.New(err.Error())
	case errors.Is(err, txn.ErrLockWaitTimeout):
		return txn.LockWaitTimeoutError()
	}
	return err
}

// RowLocks returns how many row locks this node's transactions hold, and
// how many transactions wait for one.
func (e *Engine) RowLocks() (held, waiting int) { return e.locks.Held() }
