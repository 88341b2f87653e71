package txn

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	vmysql "github.com/dolthub/vitess/go/mysql"

	"github.com/cofferdb/coffer/storage"
)

var txnIDs atomic.Uint64

// Session is a client session: go-mysql-server's base session plus the
// current Coffer transaction.
type Session struct {
	*gmssql.BaseSession
	reader    Reader
	snap      Snapshotter
	proposer  Proposer
	principal Principal

	lastCommit atomic.Uint64
	// waitFor is the sequence of the commit that won the last conflict.
	waitFor uint64
	// retryable is set when the last autocommit statement failed on a write
	// conflict: the server may run it again from a new snapshot.
	retryable bool
	// onConflict, if set, is called for every conflict the session loses.
	onConflict func()
	// vars caches the session variables every statement reads (vars.go).
	vars sessionVars
	// status and query are the fast paths' bookkeeping (status.go).
	status pendingStatus
	query  queryInfo
}

var (
	_ gmssql.TransactionSession    = (*Session)(nil)
	_ gmssql.LifecycleAwareSession = (*Session)(nil)
	_ gmssql.Transaction           = (*Transaction)(nil)
)

// NewSession returns a session reading from r and committing through p.
func NewSession(base *gmssql.BaseSession, r Reader, p Proposer, principal Principal) *Session {
	s := &Session{BaseSession: base, reader: r, proposer: p, principal: principal}
	// go-mysql-server's starting values (sql.defaultLastQueryInfo).
	s.query.rowCount.Store(base.GetLastQueryInfoInt(gmssql.RowCount))
	s.query.foundRows.Store(base.GetLastQueryInfoInt(gmssql.FoundRows))
	s.query.lastInsertID.Store(base.GetLastQueryInfoInt(gmssql.LastInsertId))
	return s
}

// SetSnapshotter makes new transactions take their read sequence from x.
func (s *Session) SetSnapshotter(x Snapshotter) { s.snap = x }

// OnConflict sets a function called whenever the session loses a write
// conflict (Conflict), at a statement or at its commit.
func (s *Session) OnConflict(f func()) { s.onConflict = f }

// FromContext returns the Coffer transaction of ctx's session, starting a
// read-write one if none is open (go-mysql-server starts one before each
// statement; analysis-time reads may come earlier).
func FromContext(ctx *gmssql.Context) (*Transaction, error) {
	if t, ok := ctx.GetTransaction().(*Transaction); ok && t != nil {
		return t, nil
	}
	s, ok := ctx.Session.(*Session)
	if !ok {
		return nil, fmt.Errorf("txn: session %T is not a Coffer session", ctx.Session)
	}
	t, err := s.StartTransaction(ctx, gmssql.ReadWrite)
	if err != nil {
		return nil, err
	}
	ctx.SetTransaction(t)
	return t.(*Transaction), nil
}

// Principal returns who the session acts for.
func (s *Session) Principal() Principal { return s.principal }

// LastCommit returns the sequence of the session's last committed
// transaction, or 0.
func (s *Session) LastCommit() uint64 { return s.lastCommit.Load() }

// TakeRetryable reports (once) whether the last statement failed on a
// write conflict in autocommit mode and may be run again.
func (s *Session) TakeRetryable() bool {
	r := s.retryable
	s.retryable = false
	return r
}

// StartTransaction implements sql.TransactionSession.
func (s *Session) StartTransaction(ctx *gmssql.Context, c gmssql.TransactionCharacteristic) (gmssql.Transaction, error) {
	s.awaitConflict()
	readSeq := s.reader.ReadSeq()
	vars := s.cachedVars(ctx)
	if s.snap != nil {
		seq, err := s.snap.SnapshotSeq(ctx, vars.followerReads)
		if err != nil {
			return nil, err
		}
		readSeq = seq
	}
	t := newTransaction(txnIDs.Add(1), s.reader, readSeq, c == gmssql.ReadOnly)
	t.latestWrites = vars.latestWrites
	return t, nil
}

// awaitConflict waits, briefly, until the commit that beat this session's
// last transaction is visible: a retry from an older snapshot (the winner
// applied but not yet synced) would only conflict again.
func (s *Session) awaitConflict() {
	if s.waitFor == 0 {
		return
	}
	deadline := time.Now().Add(time.Second)
	for s.reader.ReadSeq() < s.waitFor && time.Now().Before(deadline) {
		time.Sleep(50 * time.Microsecond) // the winner's fsync is in flight
	}
	s.waitFor = 0
}

// CommitTransaction implements sql.TransactionSession. On failure the
// transaction is discarded and cleared from the context, because
// go-mysql-server would otherwise keep it (see docs/design/transactions.md).
func (s *Session) CommitTransaction(ctx *gmssql.Context, tx gmssql.Transaction) error {
	t, ok := tx.(*Transaction)
	if !ok {
		return fmt.Errorf("txn: unexpected transaction type %T", tx)
	}
	if !t.Dirty() {
		return nil
	}
	if sc, ok := s.reader.(interface{ CheckSpace() error }); ok {
		if err := sc.CheckSpace(); err != nil {
			ctx.SetTransaction(nil)
			ctx.SetIgnoreAutoCommit(false)
			return vmysql.NewSQLError(vmysql.ERDiskFull, vmysql.SSUnknownSQLState, "%s", err.Error())
		}
	}
	pctx := context.Context(ctx)
	if t.kind != "" {
		pctx = WithCommitKind(ctx, t.kind)
	}
	seq, err := s.proposer.Propose(pctx, t.WriteSet(), t.readSeq, s.principal)
	// The commit is visible (or failed): a waiter for t's row locks now
	// reads the row's newest version, t's if it committed.
	t.ReleaseLocks()
	if err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return s.Conflict(ctx, err)
		}
		ctx.SetTransaction(nil)
		ctx.SetIgnoreAutoCommit(false)
		return err
	}
	s.lastCommit.Store(seq)
	return nil
}

// Conflict ends the session's transaction, which lost a write conflict
// (err wraps storage.ErrConflict) at its commit or at a statement that
// found a row it locked changed after its snapshot, and returns the error
// the client gets: MySQL's 1213 / SQLSTATE 40001. A single autocommit
// statement may then be run again from a new snapshot.
func (s *Session) Conflict(ctx *gmssql.Context, err error) error {
	if s.onConflict != nil {
		s.onConflict()
	}
	autocommit := !ctx.GetIgnoreAutoCommit()
	ctx.SetTransaction(nil)
	ctx.SetIgnoreAutoCommit(false)
	s.retryable = autocommit
	var ce *storage.ConflictError
	if errors.As(err, &ce) {
		s.waitFor = ce.Conflict
	}
	return gmssql.ErrLockDeadlock.New(err.Error())
}

// Rollback implements sql.TransactionSession: the buffer is dropped and
// the row locks released.
func (s *Session) Rollback(_ *gmssql.Context, tx gmssql.Transaction) error {
	if t, ok := tx.(*Transaction); ok && t != nil {
		t.ReleaseLocks()
	}
	return nil
}

// SetTransaction overrides the base session's: a transaction the session
// lets go of (committed, rolled back, failed, or the session ended)
// releases its row locks, whichever path dropped it.
func (s *Session) SetTransaction(tx gmssql.Transaction) {
	if old, ok := s.BaseSession.GetTransaction().(*Transaction); ok && old != nil && gmssql.Transaction(old) != tx {
		old.ReleaseLocks()
	}
	s.BaseSession.SetTransaction(tx)
}

// CreateSavepoint implements sql.TransactionSession.
func (s *Session) CreateSavepoint(_ *gmssql.Context, tx gmssql.Transaction, name string) error {
	tx.(*Transaction).CreateSavepoint(name)
	return nil
}

// RollbackToSavepoint implements sql.TransactionSession.
func (s *Session) RollbackToSavepoint(_ *gmssql.Context, tx gmssql.Transaction, name string) error {
	if !tx.(*Transaction).RollbackToSavepoint(name) {
		return gmssql.ErrSavepointDoesNotExist.New(name)
	}
	return nil
}

// ReleaseSavepoint implements sql.TransactionSession.
func (s *Session) ReleaseSavepoint(_ *gmssql.Context, tx gmssql.Transaction, name string) error {
	if !tx.(*Transaction).ReleaseSavepoint(name) {
		return gmssql.ErrSavepointDoesNotExist.New(name)
	}
	return nil
}

// CommandBegin implements sql.LifecycleAwareSession.
func (s *Session) CommandBegin() error { return nil }

// CommandEnd implements sql.LifecycleAwareSession (go-mysql-server calls
// it around some commands only; wire handlers call EndStatement).
func (s *Session) CommandEnd() { s.EndStatement() }

// EndStatement drops a statement read snapshot that a failed statement may
// have left behind: whatever happened, the next statement reads the
// transaction's current writes.
func (s *Session) EndStatement() {
	if t, ok := s.GetTransaction().(*Transaction); ok && t != nil {
		t.StatementComplete()
	}
}

// SessionEnd implements sql.LifecycleAwareSession: an open transaction's
// buffer is dropped, which is its rollback; nothing reached storage.
func (s *Session) SessionEnd() {
	s.SetTransaction(nil)
}
