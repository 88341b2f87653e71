package tests

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferdb/coffer/tests/harness"
)

const (
	transferAccounts = 10
	transferWorkers  = 8
	transferOpening  = 1000 // each account's opening balance
	transferLoad     = 2 * time.Second
)

// errLockDeadlock is MySQL's ER_LOCK_DEADLOCK: Coffer's serialization
// failure, which a client retries.
const errLockDeadlock = 1213

// transferStats counts what the workers saw.
type transferStats struct {
	committed atomic.Int64 // transactions acknowledged
	moved     atomic.Int64 // of which moved money (the rest found too little)
	conflicts atomic.Int64
	// conflictStates records the SQLSTATEs that came with 1213.
	mu             sync.Mutex
	conflictStates map[string]int
	unexpected     []error
}

func (s *transferStats) conflict(err error) {
	s.conflicts.Add(1)
	s.mu.Lock()
	s.conflictStates[harness.SQLState(err)]++
	s.mu.Unlock()
}

func (s *transferStats) fail(err error) {
	s.mu.Lock()
	s.unexpected = append(s.unexpected, err)
	s.mu.Unlock()
}

// TestConcurrentTransfers moves money between a few accounts from many
// clients at once, each transfer a read-modify-write transaction that
// writes the balances it computed from its own reads. Lost updates would
// create or destroy money; the test checks the total and every account
// against a ledger written in the same transactions, and that write
// conflicts happened and surfaced as 1213 / 40001 only.
func TestConcurrentTransfers(t *testing.T) {
	for _, mode := range harness.Modes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			n := harness.Start(t, harness.Options{Mode: mode})
			db := n.Open(t)
			db.SetMaxOpenConns(transferWorkers + 1)
			db.SetMaxIdleConns(transferWorkers + 1)
			harness.MustExec(t, db,
				"CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL)",
				"CREATE TABLE ledger (id BIGINT AUTO_INCREMENT PRIMARY KEY, src INT NOT NULL, dst INT NOT NULL, amount BIGINT NOT NULL)",
			)
			for i := 1; i <= transferAccounts; i++ {
				harness.MustExec(t, db, fmt.Sprintf("INSERT INTO accounts VALUES (%d, %d)", i, transferOpening))
			}
			stats := &transferStats{conflictStates: map[string]int{}}
			runTransfers(db, stats)
			for _, err := range stats.unexpected {
				t.Errorf("error other than %d: %v", errLockDeadlock, err)
			}
			t.Logf("%d transfer transactions committed (%d moved money), %d write conflicts retried (SQLSTATEs %v)",
				stats.committed.Load(), stats.moved.Load(), stats.conflicts.Load(), stats.conflictStates)
			if stats.conflicts.Load() == 0 {
				t.Errorf("no write conflicts among %d concurrent transfers: conflict detection is not working", stats.committed.Load())
			}
			for state, count := range stats.conflictStates {
				if state != "40001" {
					t.Errorf("%d conflicts came with SQLSTATE %q, want 40001", count, state)
				}
			}
			checkBalances(t, db, stats.moved.Load())
		})
	}
}

// runTransfers runs the workers for transferLoad.
func runTransfers(db *sql.DB, stats *transferStats) {
	ctx, cancel := context.WithTimeout(context.Background(), transferLoad)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < transferWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for ctx.Err() == nil {
				src := 1 + rng.IntN(transferAccounts)
				dst := 1 + (src+rng.IntN(transferAccounts-1))%transferAccounts
				amount := int64(1 + rng.IntN(50))
				for attempt := 0; ; attempt++ {
					// Not ctx: cancelling mid-statement would break the
					// connection, which is not what this test checks.
					moved, err := transfer(context.Background(), db, src, dst, amount)
					if err == nil {
						stats.committed.Add(1)
						if moved {
							stats.moved.Add(1)
						}
						break
					}
					if harness.Errno(err) != errLockDeadlock {
						stats.fail(err)
						return
					}
					stats.conflict(err)
					if ctx.Err() != nil {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
}

// transfer moves amount from src to dst if src can afford it, writing the
// balances it read plus or minus amount. It reports whether it moved
// money.
func transfer(ctx context.Context, db *sql.DB, src, dst int, amount int64) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var srcBal, dstBal int64
	if err := tx.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = ?", src).Scan(&srcBal); err != nil {
		return false, err
	}
	if err := tx.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = ?", dst).Scan(&dstBal); err != nil {
		return false, err
	}
	if srcBal < amount {
		return false, tx.Commit()
	}
	stmts := []struct {
		q    string
		args []any
	}{
		{"UPDATE accounts SET balance = ? WHERE id = ?", []any{srcBal - amount, src}},
		{"UPDATE accounts SET balance = ? WHERE id = ?", []any{dstBal + amount, dst}},
		{"INSERT INTO ledger (src, dst, amount) VALUES (?, ?, ?)", []any{src, dst, amount}},
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
			return false, err
		}
	}
	return true, tx.Commit()
}

// checkBalances checks that money was conserved and that each account
// equals its opening balance plus its ledger entries, one per
// acknowledged transfer.
func checkBalances(t *testing.T, db *sql.DB, moved int64) {
	t.Helper()
	var total int64
	if err := db.QueryRow("SELECT SUM(balance) FROM accounts").Scan(&total); err != nil {
		t.Fatal(err)
	}
	if want := int64(transferAccounts * transferOpening); total != want {
		t.Errorf("total balance %d, want %d: money was created or destroyed", total, want)
	}
	rows, err := db.Query(`SELECT a.id, a.balance,
		COALESCE((SELECT SUM(amount) FROM ledger WHERE dst = a.id), 0) - COALESCE((SELECT SUM(amount) FROM ledger WHERE src = a.id), 0)
		FROM accounts a ORDER BY a.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var balance, net int64
		if err := rows.Scan(&id, &balance, &net); err != nil {
			t.Fatal(err)
		}
		if balance != transferOpening+net {
			t.Errorf("account %d: balance %d, ledger says %d", id, balance, transferOpening+net)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var entries int64
	if err := db.QueryRow("SELECT COUNT(*) FROM ledger").Scan(&entries); err != nil {
		t.Fatal(err)
	}
	if entries != moved {
		t.Errorf("ledger has %d entries, %d transfers were acknowledged", entries, moved)
	}
}
