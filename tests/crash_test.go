package tests

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferdb/coffer/tests/harness"
)

const (
	crashWorkers = 8
	crashRows    = 3 // rows each transaction inserts
	crashLoad    = 2500 * time.Millisecond
	// crashMinAcked is how many transactions must be acknowledged before a
	// kill, so that every cycle tests something.
	crashMinAcked = 40
)

// crashWorker is one client's view of its transactions. Worker w's
// transaction k inserts crashRows rows tagged (w, k) and increments w's
// counter; a worker's transactions run one after another, so what survives
// must be exactly transactions 1..m for some m.
type crashWorker struct {
	id       int
	acked    int64 // last transaction whose COMMIT returned OK
	inflight int64 // transaction begun but not acknowledged, or 0
	err      error // first error seen before the stop was ordered
	stopErr  error // the error that ended the worker after it was
}

// crashCycles says how each load cycle ends: SIGKILL twice, then a clean
// SIGTERM shutdown under the same load, which must also lose nothing
// acknowledged, tear nothing, and exit with status 0.
var crashCycles = []struct {
	name string
	stop func(*harness.Node)
}{
	{"kill1", (*harness.Node).Kill},
	{"kill2", (*harness.Node).Kill},
	{"sigterm", (*harness.Node).Stop},
}

// TestCrashDurability kills a node with SIGKILL under a transactional
// write load and checks on restart that every acknowledged transaction is
// there in full and that no transaction is there in part.
func TestCrashDurability(t *testing.T) {
	t.Parallel()
	n := harness.Start(t, harness.Options{Mode: harness.Process})
	db := n.Open(t)
	harness.MustExec(t, db,
		"CREATE TABLE items (id BIGINT PRIMARY KEY, worker INT NOT NULL, txn BIGINT NOT NULL, note VARCHAR(64), KEY by_worker (worker, txn))",
		"CREATE TABLE counters (worker INT PRIMARY KEY, n BIGINT NOT NULL)",
	)
	workers := make([]*crashWorker, crashWorkers)
	for i := range workers {
		workers[i] = &crashWorker{id: i + 1}
		harness.MustExec(t, db, fmt.Sprintf("INSERT INTO counters VALUES (%d, 0)", i+1))
	}
	for _, cycle := range crashCycles {
		t.Run(cycle.name, func(t *testing.T) {
			cfg := n.Config()
			cfg.Logger = harness.DiscardLogger // the kill breaks every connection
			db := harness.OpenConfig(t, cfg)
			db.SetMaxOpenConns(crashWorkers)
			db.SetMaxIdleConns(crashWorkers)
			acked := runUntilStopped(t, n, db, workers, cycle.stop)
			n.Restart()
			committed, inflightCommitted := verifyCrash(t, harness.OpenConfig(t, n.Config()), workers)
			t.Logf("acknowledged %d transactions this cycle; verified %d committed transactions in total (%d rows); %d of the in-flight transactions had committed",
				acked, committed, committed*crashRows, inflightCommitted)
		})
		if t.Failed() {
			return
		}
	}
}

// runUntilStopped runs the workers for crashLoad (and until crashMinAcked
// transactions were acknowledged), then stops the node with stop. It
// returns how many transactions were acknowledged.
func runUntilStopped(t *testing.T, n *harness.Node, db *sql.DB, workers []*crashWorker, stop func(*harness.Node)) int64 {
	var killing atomic.Bool
	var acked atomic.Int64
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				err := w.runTxn(db)
				if err != nil {
					if killing.Load() {
						w.stopErr = err
					} else {
						w.err = err
					}
					return
				}
				acked.Add(1)
			}
		}()
	}
	timer := time.NewTimer(crashLoad)
	<-timer.C
	harness.Eventually(t, 30*time.Second, func() error {
		if a := acked.Load(); a < crashMinAcked {
			return fmt.Errorf("only %d transactions acknowledged", a)
		}
		return nil
	})
	killing.Store(true)
	stop(n)
	wg.Wait()
	seen := map[string]int{}
	for _, w := range workers {
		if w.err != nil {
			t.Errorf("worker %d failed before the node was stopped: %v", w.id, w.err)
		}
		if w.stopErr != nil {
			seen[w.stopErr.Error()]++
		}
	}
	t.Logf("clients saw, once the node was stopped: %v", seen)
	return acked.Load()
}

// runTxn runs the worker's next transaction. It marks the transaction in
// flight before anything is sent and acknowledged only once COMMIT
// returned OK.
func (w *crashWorker) runTxn(db *sql.DB) error {
	k := w.acked + 1
	w.inflight = k
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for j := 0; j < crashRows; j++ {
		id := int64(w.id)<<40 | k<<8 | int64(j)
		q := fmt.Sprintf("INSERT INTO items VALUES (%d, %d, %d, 'worker %d txn %d row %d')", id, w.id, k, w.id, k, j)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("UPDATE counters SET n = n + 1 WHERE worker = %d", w.id)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	w.acked, w.inflight = k, 0
	return nil
}

// verifyCrash checks the restarted node against the workers' records and
// advances each worker to what survived. It returns the number of
// committed transactions and how many in-flight ones turned out committed.
func verifyCrash(t *testing.T, db *sql.DB, workers []*crashWorker) (committed, inflightCommitted int64) {
	t.Helper()
	present := map[int]map[int64]int{} // worker → txn → rows
	rows, err := db.Query("SELECT worker, txn, COUNT(*) FROM items GROUP BY worker, txn")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var w, count int
		var k int64
		if err := rows.Scan(&w, &k, &count); err != nil {
			t.Fatal(err)
		}
		if present[w] == nil {
			present[w] = map[int64]int{}
		}
		present[w][k] = count
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, w := range workers {
		m := verifyWorker(t, db, w, present[w.id])
		if w.inflight != 0 && m == w.inflight {
			inflightCommitted++
		}
		w.acked, w.inflight = m, 0
		committed += m
	}
	return committed, inflightCommitted
}

// verifyWorker checks one worker's transactions and returns how many
// survived.
func verifyWorker(t *testing.T, db *sql.DB, w *crashWorker, txns map[int64]int) int64 {
	t.Helper()
	m := int64(len(txns))
	for k, count := range txns {
		if count != crashRows {
			t.Errorf("worker %d txn %d: %d of %d rows present (torn transaction)", w.id, k, count, crashRows)
		}
		if k < 1 || k > m {
			t.Errorf("worker %d: txn %d present but only %d txns survived (a gap: an earlier txn was lost)", w.id, k, m)
		}
	}
	if m < w.acked {
		t.Errorf("worker %d: %d txns acknowledged, only %d survived", w.id, w.acked, m)
	}
	if limit := max(w.acked, w.inflight); m > limit {
		t.Errorf("worker %d: %d txns present, but only %d were ever begun", w.id, m, limit)
	}
	var counter, viaIndex int64
	if err := db.QueryRow("SELECT n FROM counters WHERE worker = ?", w.id).Scan(&counter); err != nil {
		t.Fatal(err)
	}
	if counter != m {
		t.Errorf("worker %d: counter is %d but %d txns are present (acknowledged %d)", w.id, counter, m, w.acked)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM items WHERE worker = ?", w.id).Scan(&viaIndex); err != nil {
		t.Fatal(err)
	}
	if viaIndex != m*crashRows {
		t.Errorf("worker %d: index by_worker finds %d rows, the table has %d", w.id, viaIndex, m*crashRows)
	}
	return m
}
