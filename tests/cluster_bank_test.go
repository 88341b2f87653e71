package tests

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferdb/coffer/tests/harness"
)

const (
	bankAccounts = 8
	bankOpening  = 1000
	// bankWorkersPerNode clients on each node move money at once.
	bankWorkersPerNode = 2
	// bankProgress is how many transfers must be acknowledged in each
	// phase, so that every fault happens under load.
	bankProgress = 15
)

// bankLedger is what the workers saw: the ids of acknowledged transfers
// and a count of each kind of error they retried.
type bankLedger struct {
	acked atomic.Int64
	mu    sync.Mutex
	ids   []int64
	kinds map[string]int
}

func (b *bankLedger) ack(id int64) {
	b.mu.Lock()
	b.ids = append(b.ids, id)
	b.mu.Unlock()
	b.acked.Add(1)
}

func (b *bankLedger) retried(kind string) {
	b.mu.Lock()
	b.kinds[kind]++
	b.mu.Unlock()
}

// TestClusterBankTransfers moves money between accounts from clients
// spread over all three nodes while a follower is partitioned and healed
// and then the leader is killed with SIGKILL and restarted. Each transfer
// records its unique id in the same transaction; a client counts a
// transfer as acknowledged only if COMMIT returned OK, and retries write
// conflicts, commits of unknown outcome and broken connections (under a
// new id). It proves that the total is conserved on every node, that no
// acknowledged transfer is lost, that every balance matches the
// transfers recorded, and that the nodes end with the same ledger.
func TestClusterBankTransfers(t *testing.T) {
	t.Parallel()
	c := harness.StartCluster(t, 3, harness.Options{Mode: harness.Process, FaultInjection: true})
	leader := c.WaitLeader(clusterWait)
	db := leader.Open(t)
	harness.MustExec(t, db,
		"CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL)",
		"CREATE TABLE transfers (id BIGINT PRIMARY KEY, src INT NOT NULL, dst INT NOT NULL, amount BIGINT NOT NULL)",
	)
	for i := 1; i <= bankAccounts; i++ {
		harness.MustExec(t, db, fmt.Sprintf("INSERT INTO accounts VALUES (%d, %d)", i, bankOpening))
	}

	ledger := &bankLedger{kinds: map[string]int{}}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	unexpected := make(chan error, 3*bankWorkersPerNode)
	for i, n := range c.Nodes {
		for j := range bankWorkersPerNode {
			w := i*bankWorkersPerNode + j + 1
			cfg := n.Config()
			// Bounded waits: a client of a partitioned node gets an
			// error and reconnects instead of hanging.
			cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = 2*time.Second, 5*time.Second, 5*time.Second
			cfg.Logger = harness.DiscardLogger
			pool := harness.OpenConfig(t, cfg)
			pool.SetMaxOpenConns(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := bankWorker(ctx, pool, w, ledger); err != nil {
					unexpected <- fmt.Errorf("worker %d on %s: %w", w, n.NodeID(), err)
				}
			}()
		}
	}
	defer func() { stop(); wg.Wait() }()

	progress := func(phase string) {
		t.Helper()
		from := ledger.acked.Load()
		harness.Eventually(t, clusterWait, func() error {
			select {
			case err := <-unexpected:
				t.Fatal(err)
			default:
			}
			if n := ledger.acked.Load() - from; n < bankProgress {
				return fmt.Errorf("%s: %d transfers acknowledged", phase, n)
			}
			return nil
		})
		t.Logf("%s: %d transfers acknowledged in all", phase, ledger.acked.Load())
	}
	progress("all nodes up")
	follower := c.Followers()[0]
	follower.Partition()
	progress(follower.NodeID() + " partitioned")
	follower.Heal()
	progress(follower.NodeID() + " healed")
	old := c.WaitLeader(clusterWait)
	old.Kill()
	t.Logf("killed the leader %s; %s leads", old.NodeID(), c.WaitLeader(clusterWait, old).NodeID())
	progress(old.NodeID() + " killed")
	old.Restart()
	progress(old.NodeID() + " restarted")
	stop()
	wg.Wait()
	close(unexpected)
	for err := range unexpected {
		t.Error(err)
	}
	t.Logf("%d transfers acknowledged; retried: %v", ledger.acked.Load(), ledger.kinds)

	c.WaitConverged(clusterWait)
	for _, n := range c.Nodes {
		checkBank(t, n, ledger.ids)
	}
	checkLedgersIdentical(t, c)
}

// bankWorker transfers money until ctx is done. It returns an error a
// client should not see from a cluster under these faults.
func bankWorker(ctx context.Context, db *sql.DB, w int, ledger *bankLedger) error {
	rng := rand.New(rand.NewPCG(uint64(w), 7))
	for attempt := int64(1); ctx.Err() == nil; attempt++ {
		id := int64(w)<<32 | attempt // new for every attempt: an unknown outcome may have committed
		src := 1 + rng.IntN(bankAccounts)
		dst := 1 + (src+rng.IntN(bankAccounts-1))%bankAccounts
		err := bankTransfer(db, id, src, dst, int64(1+rng.IntN(20)))
		if err == nil {
			ledger.ack(id)
			continue
		}
		kind := retryKind(err)
		if kind == "" {
			return err
		}
		ledger.retried(kind)
		if kind == "connection" {
			// The node is down or cut off: pace the reconnects.
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// retryKind names the kind of a retryable error, or returns "".
func retryKind(err error) string {
	msg := err.Error()
	switch {
	case harness.Errno(err) == errLockDeadlock || harness.SQLState(err) == "40001":
		return "conflict"
	case strings.Contains(msg, "outcome of this commit is unknown"):
		return "unknown outcome"
	case harness.MySQLError(err) != nil && strings.Contains(msg, "cluster:"):
		// No leader during an election, or the node is shutting down.
		return "cluster unavailable"
	case harness.MySQLError(err) == nil:
		// The driver's own errors: a broken or refused connection, a
		// read timeout on a partitioned node.
		return "connection"
	}
	return ""
}

// bankTransfer moves amount from src to dst in one transaction that also
// records the transfer under id (moving at most src's balance).
func bankTransfer(db *sql.DB, id int64, src, dst int, amount int64) error {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var srcBal, dstBal int64
	if err := tx.QueryRow("SELECT balance FROM accounts WHERE id = ?", src).Scan(&srcBal); err != nil {
		return err
	}
	if err := tx.QueryRow("SELECT balance FROM accounts WHERE id = ?", dst).Scan(&dstBal); err != nil {
		return err
	}
	amount = min(amount, srcBal) // balances stay non-negative
	for _, s := range []struct {
		q    string
		args []any
	}{
		{"UPDATE accounts SET balance = ? WHERE id = ?", []any{srcBal - amount, src}},
		{"UPDATE accounts SET balance = ? WHERE id = ?", []any{dstBal + amount, dst}},
		{"INSERT INTO transfers VALUES (?, ?, ?, ?)", []any{id, src, dst, amount}},
	} {
		if _, err := tx.Exec(s.q, s.args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// checkBank checks on node n that the total is the opening total, that
// every acknowledged transfer is recorded and that each balance is its
// opening balance plus the transfers recorded.
func checkBank(t *testing.T, n *harness.Node, acked []int64) {
	t.Helper()
	db := n.Open(t)
	var total int64
	if err := db.QueryRow("SELECT SUM(balance) FROM accounts").Scan(&total); err != nil {
		t.Fatal(err)
	}
	if want := int64(bankAccounts * bankOpening); total != want {
		t.Errorf("%s: total balance %d, want %d", n.NodeID(), total, want)
	}
	present := map[int64]bool{}
	net := map[int]int64{}
	rows, err := db.Query("SELECT id, src, dst, amount FROM transfers")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, amount int64
		var src, dst int
		if err := rows.Scan(&id, &src, &dst, &amount); err != nil {
			t.Fatal(err)
		}
		present[id] = true
		net[src] -= amount
		net[dst] += amount
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, id := range acked {
		if !present[id] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%s: %d of %d acknowledged transfers are missing", n.NodeID(), lost, len(acked))
	}
	for i := 1; i <= bankAccounts; i++ {
		var balance int64
		if err := db.QueryRow("SELECT balance FROM accounts WHERE id = ?", i).Scan(&balance); err != nil {
			t.Fatal(err)
		}
		if want := bankOpening + net[i]; balance != want {
			t.Errorf("%s: account %d holds %d, its transfers say %d", n.NodeID(), i, balance, want)
		}
	}
	t.Logf("%s: total %d, %d transfers recorded (%d acknowledged, %d of unknown outcome committed)",
		n.NodeID(), total, len(present), len(acked), len(present)-len(acked)+lost)
}
