package txn

import (
	"context"
	"errors"
	vmysql "github.com/dolthub/vitess/go/mysql"
	"sync"
	"time"
)

// Row locks. Under snapshot isolation alone, two transactions that update
// the same row both run to their commit and the second fails there (first
// committer wins): on a hot row much of a busy server's work is thrown
// away. A statement that writes a row by its primary key therefore first
// takes the row's lock, waiting while another transaction of this node
// holds it. The lock is held until the transaction ends. Then:
//
//   - under snapshot isolation (the default), if the row changed after the
//     transaction's snapshot the statement fails at once, as the commit
//     would have (the engine's unchangedSince); if the holder rolled back,
//     the waiter goes on;
//   - at READ COMMITTED (LatestWrites) the statement computes its change
//     from the row's newest committed version instead of its snapshot, as
//     InnoDB's locking reads and PostgreSQL's READ COMMITTED updates do
//     (BeginLatestWrite).
//
// Locks only order the transactions of one node; they are not needed for
// correctness. The commit's conflict check still decides: a write carries
// the sequence of the version it was computed from (storage.Mutation.Base),
// and conflicts with any commit after it — one from another node, or from
// a statement that took no lock.
//
// Deadlocks are found when a transaction is about to wait: if the chain of
// holders it would wait for leads back to itself, its statement fails with
// ErrDeadlock (MySQL error 1213, SQLSTATE 40001) and the transaction rolls
// back, as MySQL does.

// ErrDeadlock: waiting for the lock would close a cycle of waiting
// transactions.
var ErrDeadlock = errors.New("deadlock found when trying to get lock; try restarting transaction")

// ErrLockWaitTimeout: the lock's holder did not finish within the timeout.
var ErrLockWaitTimeout = errors.New("lock wait timeout exceeded; try restarting transaction")

// LockWaitTimeoutError is the statement error for ErrLockWaitTimeout:
// MySQL's 1205 (ER_LOCK_WAIT_TIMEOUT), which the Postgres wire reports as
// SQLSTATE 55P03. It fails the statement, not the transaction.
func LockWaitTimeoutError() error {
	return vmysql.NewSQLError(vmysql.ERLockWaitTimeout, vmysql.SSUnknownSQLState, "Lock wait timeout exceeded; try restarting transaction")
}

// LockTable holds the row locks of one node's transactions.
type LockTable struct {
	mu      sync.Mutex
	held    map[string]*rowLock
	waiting int // transactions waiting for a lock
}

type rowLock struct {
	owner *Transaction
	done  chan struct{} // closed on release; made by the first waiter
}

// NewLockTable returns an empty lock table.
func NewLockTable() *LockTable { return &LockTable{held: make(map[string]*rowLock)} }

// Lock takes key's lock for t, waiting up to timeout while another
// transaction holds it. Taking a lock t already holds returns at once.
func (lt *LockTable) Lock(ctx context.Context, t *Transaction, key []byte, timeout time.Duration) error {
	var timer *time.Timer
	for {
		lt.mu.Lock()
		l := lt.held[string(key)]
		if l == nil {
			k := string(key)
			lt.held[k] = &rowLock{owner: t}
			t.locks = append(t.locks, k)
			t.lockTable = lt
			lt.mu.Unlock()
			return nil
		}
		if l.owner == t {
			lt.mu.Unlock()
			return nil
		}
		// Each transaction waits for at most one lock, so the holders form
		// chains; one that leads back to t is a deadlock.
		for o, n := l.owner, 0; o != nil && n <= len(lt.held); n++ {
			if o == t {
				lt.mu.Unlock()
				return ErrDeadlock
			}
			if o.waitingOn == nil {
				break
			}
			o = o.waitingOn.owner
		}
		if l.done == nil {
			l.done = make(chan struct{})
		}
		t.waitingOn = l
		lt.waiting++
		lt.mu.Unlock()

		if timer == nil {
			timer = time.NewTimer(timeout)
			defer timer.Stop()
		}
		var err error
		select {
		case <-l.done:
		case <-ctx.Done():
			err = ctx.Err()
		case <-timer.C:
			err = ErrLockWaitTimeout
		}
		lt.mu.Lock()
		t.waitingOn = nil
		lt.waiting--
		lt.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// ReleaseLocks releases every lock t holds and wakes their waiters. It is
// called when t commits, rolls back or is dropped, and may be called again.
func (t *Transaction) ReleaseLocks() {
	lt := t.lockTable
	if lt == nil || len(t.locks) == 0 {
		return
	}
	lt.mu.Lock()
	for _, k := range t.locks {
		if l := lt.held[k]; l != nil && l.owner == t {
			delete(lt.held, k)
			if l.done != nil {
				close(l.done)
			}
		}
	}
	lt.mu.Unlock()
	t.locks = t.locks[:0]
}

// Held returns how many row locks the table's transactions hold, and how
// many transactions wait for one.
func (lt *LockTable) Held() (held, waiting int) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return len(lt.held), lt.waiting
}

// BeginLatestWrite prepares a write of the row stored at key, whose lock t
// holds, from the row's newest committed version, seq: until end is
// called, reads of key see that version and the keys t writes are based
// on seq (storage.Mutation.Base). Nothing changes when t's snapshot is not
// older than seq, or t already wrote key (its own version is the newest).
func (t *Transaction) BeginLatestWrite(key []byte, seq uint64) (end func()) {
	if seq <= t.readSeq {
		return func() {}
	}
	if _, ok := t.buf.get(key); ok {
		return func() {}
	}
	if t.pins == nil {
		t.pins = make(map[string]uint64)
	}
	k := string(key)
	t.pins[k] = seq
	t.writeBase = seq
	return func() {
		delete(t.pins, k)
		t.writeBase = 0
	}
}

// Wrote reports whether t has a buffered write of key.
func (t *Transaction) Wrote(key []byte) bool {
	_, ok := t.buf.get(key)
	return ok
}

// HasLatestWrites reports whether t wrote a row from a version newer than
// its snapshot. Its snapshot may then hold index entries of that row's
// older version that its own write does not replace (another transaction
// changed the indexed columns in between); index reads check each entry
// against the row they lead to.
func (t *Transaction) HasLatestWrites() bool { return t.based }
