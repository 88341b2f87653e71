package engine

import (
	"context"
	"fmt"
	"github.com/cofferdb/coffer/sql/catalog"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	vmysql "github.com/dolthub/vitess/go/mysql"

	"github.com/cofferdb/coffer/sql/txn"
)

// rowLockEnv is an engine with table t (id, k indexed, c) and sessions.
type rowLockEnv struct {
	t *testing.T
	e *Engine
}

func newRowLockEnv(t *testing.T) *rowLockEnv {
	e, _ := newTestEngine(t, t.TempDir())
	env := &rowLockEnv{t: t, e: e}
	a := env.session()
	query(t, e, a, "CREATE TABLE t (id INT PRIMARY KEY, k INT NOT NULL, c VARCHAR(10), KEY (k))")
	query(t, e, a, "INSERT INTO t VALUES (1, 10, 'a'), (2, 20, 'b')")
	return env
}

func (env *rowLockEnv) session() *gmssql.Context {
	return env.e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
}

// readCommitted is a session at READ COMMITTED: locked writes build on
// the newest version.
func (env *rowLockEnv) readCommitted() *gmssql.Context {
	ctx := env.session()
	query(env.t, env.e, ctx, "SET SESSION transaction_isolation = 'READ-COMMITTED'")
	return ctx
}

// write runs a point write through the fast path.
func (env *rowLockEnv) write(ctx *gmssql.Context, q string, args ...any) error {
	env.t.Helper()
	_, handled, err := fastWrite(env.e, ctx, q, args)
	if !handled {
		env.t.Fatalf("%s %v: not handled", q, args)
	}
	return err
}

// start runs a point write in another goroutine and waits until it
// waits for a row lock; the returned channel yields its error.
func (env *rowLockEnv) start(ctx *gmssql.Context, q string, args ...any) <-chan error {
	env.t.Helper()
	_, waiting0 := env.e.RowLocks()
	done := make(chan error, 1)
	go func() {
		_, handled, err := fastWrite(env.e, ctx, q, args)
		if !handled && err == nil {
			err = fmt.Errorf("%s: not handled", q)
		}
		done <- err
	}()
	for {
		select {
		case err := <-done:
			env.t.Fatalf("%s %v returned without waiting for a lock: %v", q, args, err)
		default:
		}
		if _, waiting := env.e.RowLocks(); waiting > waiting0 {
			return done
		}
		time.Sleep(time.Millisecond) // polling a condition, not a timed wait
	}
}

// mustWrite runs a point write that must succeed.
func (env *rowLockEnv) mustWrite(ctx *gmssql.Context, q string, args ...any) {
	env.t.Helper()
	if err := env.write(ctx, q, args...); err != nil {
		env.t.Fatal(err)
	}
}

// noLocksLeft fails the test if a row lock is held or awaited.
func (env *rowLockEnv) noLocksLeft() {
	env.t.Helper()
	if held, waiting := env.e.RowLocks(); held != 0 || waiting != 0 {
		env.t.Fatalf("%d locks held, %d waiting", held, waiting)
	}
}

func (env *rowLockEnv) rows(ctx *gmssql.Context, q string) string {
	env.t.Helper()
	return fmt.Sprint(query(env.t, env.e, ctx, q))
}

const incK = "UPDATE t SET k = k + 1 WHERE id = ?"

// TestRowLockWaitsAndBuildsOnTheNewestVersion: at READ COMMITTED a
// second writer of a row waits for the first transaction instead of
// failing at commit, and then writes on top of what the first committed
// (or of the old row if it rolled back) — in autocommit and inside an
// explicit transaction whose snapshot is older than the first writer's
// commit.
func TestRowLockWaitsAndBuildsOnTheNewestVersion(t *testing.T) {
	env := newRowLockEnv(t)
	a, b := env.readCommitted(), env.readCommitted()

	// Autocommit waiter; the holder commits.
	query(t, env.e, a, "BEGIN")
	env.mustWrite(a, incK, 1)
	done := env.start(b, incK, 1)
	query(t, env.e, a, "COMMIT")
	if err := <-done; err != nil {
		t.Fatalf("the waiting write failed: %v", err)
	}
	if got := env.rows(a, "SELECT k FROM t WHERE id = 1"); got != "[[12]]" {
		t.Fatalf("after two increments: %s", got)
	}

	// Autocommit waiter; the holder rolls back.
	query(t, env.e, a, "BEGIN")
	env.mustWrite(a, "UPDATE t SET k = ? WHERE id = ?", 100, 1)
	done = env.start(b, incK, 1)
	query(t, env.e, a, "ROLLBACK")
	if err := <-done; err != nil {
		t.Fatalf("the waiting write failed: %v", err)
	}
	if got := env.rows(a, "SELECT k FROM t WHERE id = 1"); got != "[[13]]" {
		t.Fatalf("after a rolled back write and an increment: %s", got)
	}

	// An explicit transaction whose snapshot predates the holder's commit:
	// its update reads the newest version, and it commits without a
	// conflict. Its other reads stay at its snapshot.
	query(t, env.e, b, "BEGIN")
	if got := env.rows(b, "SELECT id, k FROM t ORDER BY id"); got != "[[1 13] [2 20]]" {
		t.Fatalf("b's snapshot: %s", got)
	}
	query(t, env.e, a, "BEGIN")
	env.mustWrite(a, incK, 1)
	env.mustWrite(a, incK, 2)
	done = env.start(b, incK, 1)
	query(t, env.e, a, "COMMIT")
	if err := <-done; err != nil {
		t.Fatalf("the waiting write failed: %v", err)
	}
	if got := env.rows(b, "SELECT id, k FROM t ORDER BY id"); got != "[[1 15] [2 20]]" {
		t.Fatalf("b sees its write on the newest row 1 and its snapshot of row 2: %s", got)
	}
	query(t, env.e, b, "COMMIT")
	if got := env.rows(a, "SELECT id, k FROM t ORDER BY id"); got != "[[1 15] [2 21]]" {
		t.Fatalf("after both commits: %s", got)
	}
	if held, waiting := env.e.RowLocks(); held != 0 || waiting != 0 {
		t.Fatalf("%d locks held, %d waiting after every transaction ended", held, waiting)
	}
}

// TestRowLockIndexReadsSkipStaleEntries: after writing a row from a
// version newer than its snapshot (READ COMMITTED), a transaction's index reads do not
// return the row under the indexed value its snapshot had.
func TestRowLockIndexReadsSkipStaleEntries(t *testing.T) {
	env := newRowLockEnv(t)
	a, b := env.readCommitted(), env.session()
	query(t, env.e, a, "BEGIN")
	if got := env.rows(a, "SELECT id FROM t WHERE k = 10"); got != "[[1]]" {
		t.Fatalf("snapshot: %s", got)
	}
	env.mustWrite(b, "UPDATE t SET k = ? WHERE id = ?", 50, 1)
	env.mustWrite(a, incK, 1)
	for q, want := range map[string]string{
		"SELECT id FROM t WHERE k = 10":        "[]",
		"SELECT id FROM t WHERE k = 51":        "[[1]]",
		"SELECT id, k FROM t WHERE k >= 0":     "[[2 20] [1 51]]",
		"SELECT id FROM t WHERE k = 50":        "[]",
		"SELECT id, k FROM t ORDER BY id DESC": "[[2 20] [1 51]]",
	} {
		if got := env.rows(a, q); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	query(t, env.e, a, "COMMIT")
	if got := env.rows(b, "SELECT id, k FROM t WHERE k = 51"); got != "[[1 51]]" {
		t.Fatalf("after commit: %s", got)
	}
}

// TestRowLockDeadlock: two transactions that each wait for the other's
// row: the one that would close the cycle fails with MySQL's 1213 and is
// rolled back, which lets the other go on.
func TestRowLockDeadlock(t *testing.T) {
	env := newRowLockEnv(t)
	a, b := env.session(), env.session()
	query(t, env.e, a, "BEGIN")
	query(t, env.e, b, "BEGIN")
	env.mustWrite(a, incK, 1)
	env.mustWrite(b, incK, 2)
	done := env.start(a, incK, 2)
	err := env.write(b, incK, 1)
	if !isConflict(err) {
		t.Fatalf("closing a cycle: %v", err)
	}
	if b.GetTransaction() != nil {
		t.Fatal("the deadlock victim's transaction is still open")
	}
	if err := <-done; err != nil {
		t.Fatalf("the survivor's write failed: %v", err)
	}
	query(t, env.e, a, "COMMIT")
	if got := env.rows(b, "SELECT id, k FROM t ORDER BY id"); got != "[[1 11] [2 21]]" {
		t.Fatalf("after the deadlock: %s (the victim's writes must be gone)", got)
	}
}

// TestRowLockWaitTimeout: a holder that does not finish fails the waiting
// statement with MySQL's 1205; the waiter's transaction stays open.
func TestRowLockWaitTimeout(t *testing.T) {
	defer func(d time.Duration) { LockWaitTimeout = d }(LockWaitTimeout)
	LockWaitTimeout = 20 * time.Millisecond
	env := newRowLockEnv(t)
	a, b := env.session(), env.session()
	query(t, env.e, a, "BEGIN")
	env.mustWrite(a, incK, 1)
	query(t, env.e, b, "BEGIN")
	env.mustWrite(b, incK, 2)
	err := env.write(b, incK, 1)
	if se := gmssql.CastSQLError(err); err == nil || se.Num != vmysql.ERLockWaitTimeout {
		t.Fatalf("waiting past the timeout: %v", err)
	}
	if b.GetTransaction() == nil {
		t.Fatal("a lock wait timeout ended the transaction")
	}
	query(t, env.e, a, "ROLLBACK")
	query(t, env.e, b, "COMMIT")
	if got := env.rows(a, "SELECT id, k FROM t ORDER BY id"); got != "[[1 10] [2 21]]" {
		t.Fatalf("after the timeout: %s", got)
	}
}

// TestRowLocksReleasedWhenTheSessionEnds: a session that goes away with a
// transaction open releases its locks.
func TestRowLocksReleasedWhenTheSessionEnds(t *testing.T) {
	env := newRowLockEnv(t)
	a, b := env.session(), env.session()
	query(t, env.e, a, "BEGIN")
	env.mustWrite(a, incK, 1)
	done := env.start(b, incK, 1)
	a.Session.(*txn.Session).SessionEnd()
	if err := <-done; err != nil {
		t.Fatalf("the waiting write failed: %v", err)
	}
	if got := env.rows(b, "SELECT k FROM t WHERE id = 1"); got != "[[11]]" {
		t.Fatalf("the ended session's write survived or the waiter's is lost: %s", got)
	}
	env.noLocksLeft()
}

// TestRowLockSnapshotIsolation: at the default level the second writer
// still waits for the lock, but a row changed after its snapshot fails
// its statement at once with 1213 and ends its transaction, as its
// commit would have (first committer wins, without a lost update), once
// the transaction has read or written anything. If the holder rolls
// back, the waiter goes on.
func TestRowLockSnapshotIsolation(t *testing.T) {
	env := newRowLockEnv(t)
	a, b := env.session(), env.session()

	// An explicit transaction that read the row first.
	query(t, env.e, b, "BEGIN")
	if got := env.rows(b, "SELECT k FROM t WHERE id = 1"); got != "[[10]]" {
		t.Fatalf("b's snapshot: %s", got)
	}
	env.mustWrite(a, incK, 1)
	if err := env.write(b, incK, 1); !isConflict(err) {
		t.Fatalf("a row changed after the snapshot: %v, want 1213", err)
	}
	if b.GetTransaction() != nil {
		t.Fatal("the transaction that lost is still open")
	}

	// One that read another row first waits for the holder, then loses.
	query(t, env.e, b, "BEGIN")
	if got := env.rows(b, "SELECT k FROM t WHERE id = 2"); got != "[[20]]" {
		t.Fatalf("b's snapshot: %s", got)
	}
	query(t, env.e, a, "BEGIN")
	env.mustWrite(a, incK, 1)
	done := env.start(b, incK, 1)
	query(t, env.e, a, "COMMIT")
	if err := <-done; !isConflict(err) {
		t.Fatalf("waiter that had read: %v, want 1213", err)
	}

	// The holder rolls back: the waiter writes.
	query(t, env.e, b, "BEGIN")
	if got := env.rows(b, "SELECT k FROM t WHERE id = 2"); got != "[[20]]" {
		t.Fatalf("b's snapshot: %s", got)
	}
	query(t, env.e, a, "BEGIN")
	env.mustWrite(a, incK, 1)
	done = env.start(b, incK, 1)
	query(t, env.e, a, "ROLLBACK")
	if err := <-done; err != nil {
		t.Fatalf("after the holder rolled back: %v", err)
	}
	query(t, env.e, b, "COMMIT")
	if got := env.rows(a, "SELECT k FROM t WHERE id = 1"); got != "[[13]]" {
		t.Fatalf("k = %s, want 13", got)
	}
	env.noLocksLeft()
}

// isConflict reports MySQL's 1213 with SQLSTATE 40001.
func isConflict(err error) bool {
	se := gmssql.CastSQLError(err)
	return err != nil && se.Num == vmysql.ERLockDeadlock && se.State == "40001"
}

// TestRowLockFirstStatementTakesTheSnapshot: a transaction whose first
// statement waits for a row's lock while the holder changes the row
// takes its snapshot after the wait (as MySQL takes it at the first
// read), so it builds on the holder's change instead of failing: in
// autocommit without a retry, and in an explicit transaction begun
// before the holder committed. Once it has written anything, or a commit
// after its snapshot changed the schema, it fails as before.
func TestRowLockFirstStatementTakesTheSnapshot(t *testing.T) {
	env := newRowLockEnv(t)
	a, b := env.session(), env.session()
	holderCommits := func(then func() <-chan error) error {
		t.Helper()
		query(t, env.e, a, "BEGIN")
		env.mustWrite(a, incK, 1)
		done := then()
		query(t, env.e, a, "COMMIT")
		return <-done
	}

	// Autocommit: no conflict, nothing to run again.
	if err := holderCommits(func() <-chan error { return env.start(b, incK, 1) }); err != nil {
		t.Fatalf("autocommit writer after the holder committed: %v", err)
	}
	if b.Session.(*txn.Session).TakeRetryable() {
		t.Fatal("the statement was marked to run again")
	}
	if got := env.rows(b, "SELECT k FROM t WHERE id = 1"); got != "[[12]]" {
		t.Fatalf("k = %s, want 12 (both increments)", got)
	}

	// An explicit transaction begun before the holder's commit.
	query(t, env.e, b, "BEGIN")
	if err := holderCommits(func() <-chan error { return env.start(b, incK, 1) }); err != nil {
		t.Fatalf("first statement of a transaction: %v", err)
	}
	if got := env.rows(b, "SELECT k FROM t WHERE id = 1"); got != "[[14]]" {
		t.Fatalf("b reads k = %s, want 14", got)
	}
	query(t, env.e, b, "COMMIT")

	// A transaction that wrote first loses.
	query(t, env.e, b, "BEGIN")
	env.mustWrite(b, "UPDATE t SET c = ? WHERE id = ?", "w", 2)
	if err := holderCommits(func() <-chan error { return env.start(b, incK, 1) }); !isConflict(err) {
		t.Fatalf("waiter that had written: %v, want 1213", err)
	}

	// A schema change after the snapshot: the snapshot stays.
	query(t, env.e, b, "BEGIN")
	query(t, env.e, a, "CREATE TABLE other (id INT PRIMARY KEY)")
	if err := holderCommits(func() <-chan error { return env.start(b, incK, 1) }); !isConflict(err) {
		t.Fatalf("waiter after a schema change: %v, want 1213", err)
	}
	if got := env.rows(a, "SELECT k, c FROM t ORDER BY id"); got != "[[16 a] [20 b]]" {
		t.Fatalf("rows = %s", got)
	}
	env.noLocksLeft()
}

// TestTransactionIsolationConfig: an engine configured for READ COMMITTED
// (coffer serve --transaction-isolation) gives its sessions newest-version
// row writes; by default they run snapshot isolation, and a session may
// change its own level.
func TestTransactionIsolationConfig(t *testing.T) {
	_, db := newTestEngine(t, t.TempDir())
	rc, err := New(Config{DB: db, Proposer: txn.LocalProposer{DB: db}, TransactionIsolation: "READ-COMMITTED"})
	if err != nil {
		t.Fatal(err)
	}
	si, err := New(Config{DB: db, Proposer: txn.LocalProposer{DB: db}})
	if err != nil {
		t.Fatal(err)
	}
	latest := func(e *Engine, set string) bool {
		ctx := e.NewContext(context.Background(), txn.Principal{Name: "admin", Host: "localhost"})
		if set != "" {
			query(t, e, ctx, set)
		}
		tx, err := txn.FromContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return tx.LatestWrites()
	}
	if !latest(rc, "") {
		t.Error("a READ-COMMITTED engine's session runs snapshot isolation")
	}
	if latest(si, "") {
		t.Error("the default is not snapshot isolation")
	}
	if latest(rc, "SET SESSION transaction_isolation = 'SERIALIZABLE'") {
		t.Error("a session's own SERIALIZABLE was not honoured")
	}
	if !latest(si, "SET SESSION transaction_isolation = 'READ-UNCOMMITTED'") {
		t.Error("a session's own READ-UNCOMMITTED was not honoured")
	}
}

// TestRowLockTransfersConserve: goroutines move amounts between random
// accounts, two locked updates per transaction in random order (so some
// transactions deadlock and are rolled back), at READ COMMITTED and at
// snapshot isolation. Every committed transfer keeps the total; no
// statement waits for ever; no lock is left behind.
func TestRowLockTransfersConserve(t *testing.T) {
	for _, level := range []string{"READ-COMMITTED", "REPEATABLE-READ"} {
		t.Run(level, func(t *testing.T) {
			env := newRowLockEnv(t)
			setup := env.session()
			query(t, env.e, setup, "CREATE TABLE acct (id INT PRIMARY KEY, bal INT NOT NULL)")
			query(t, env.e, setup, "INSERT INTO acct VALUES (1, 1000), (2, 1000), (3, 1000), (4, 1000), (5, 1000)")
			const workers, each = 6, 40
			var committed, failed atomic.Int64
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					ctx := env.session()
					if _, iter, _, err := env.e.Query(ctx, "SET SESSION transaction_isolation = '"+level+"'"); err == nil {
						_, _ = gmssql.RowIterToRows(ctx, iter)
					}
					r := rand.New(rand.NewSource(int64(w)))
					exec := func(q string, args ...any) error {
						if len(args) == 0 {
							_, iter, _, err := env.e.Query(ctx, q)
							if err == nil {
								_, err = gmssql.RowIterToRows(ctx, iter)
							}
							return err
						}
						_, handled, err := fastWrite(env.e, ctx, q, args)
						if !handled && err == nil {
							err = fmt.Errorf("%s: not handled", q)
						}
						return err
					}
					for i := 0; i < each; i++ {
						from, to := 1+r.Intn(5), 1+r.Intn(5)
						if from == to {
							continue
						}
						amount := 1 + r.Intn(50)
						err := exec("BEGIN")
						if err == nil {
							err = exec("UPDATE acct SET bal = bal - ? WHERE id = ?", amount, from)
						}
						if err == nil {
							err = exec("UPDATE acct SET bal = bal + ? WHERE id = ?", amount, to)
						}
						if err == nil {
							err = exec("COMMIT")
						}
						if err != nil {
							se := gmssql.CastSQLError(err)
							if se.Num != vmysql.ERLockDeadlock {
								t.Errorf("transfer: %v", err)
								return
							}
							_ = exec("ROLLBACK")
							failed.Add(1)
							continue
						}
						committed.Add(1)
					}
				}(w)
			}
			wg.Wait()
			if got := env.rows(setup, "SELECT SUM(bal) FROM acct"); got != "[[5000]]" {
				t.Fatalf("total %s after %d transfers (%d failed), want 5000", got, committed.Load(), failed.Load())
			}
			env.noLocksLeft()
			if committed.Load() < workers*each/4 {
				t.Fatalf("only %d of %d transfers committed (%d failed)", committed.Load(), workers*each, failed.Load())
			}
			t.Logf("%s: %d committed, %d deadlocks or conflicts", level, committed.Load(), failed.Load())
		})
	}
}

// TestDDLCounterLockWaitTimeout: CREATE TABLE waits for the table id
// counter's lock, and past the timeout fails with MySQL's 1205 (it was a
// generic 1105); once the holder is gone, it succeeds.
func TestDDLCounterLockWaitTimeout(t *testing.T) {
	defer catalog.SetCounterLockWaitForTest(20 * time.Millisecond)()
	env := newRowLockEnv(t)
	a, b := env.session(), env.session()
	query(t, env.e, a, "BEGIN")
	env.mustWrite(a, incK, 1)
	holder := a.GetTransaction().(*txn.Transaction)
	if err := env.e.locks.Lock(context.Background(), holder, catalog.TableIDCounterKey(), time.Second); err != nil {
		t.Fatal(err)
	}
	_, iter, _, err := env.e.Query(b, "CREATE TABLE ddl_b (id INT PRIMARY KEY)")
	if err == nil {
		_, err = gmssql.RowIterToRows(b, iter)
	}
	if se := gmssql.CastSQLError(err); err == nil || se.Num != vmysql.ERLockWaitTimeout {
		t.Fatalf("CREATE TABLE waiting past the timeout: %v", err)
	}
	query(t, env.e, a, "COMMIT")
	query(t, env.e, b, "CREATE TABLE ddl_b (id INT PRIMARY KEY)")
}
