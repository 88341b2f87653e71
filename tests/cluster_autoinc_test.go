package tests

import (
	"sync"
	"testing"

	"github.com/cofferdb/coffer/tests/harness"
)

// TestClusterAutoIncrementAcrossNodes: AUTO_INCREMENT counters live in
// each node's memory; inserts through one node must move the others'
// counters, or a node would hand out values another already used and its
// inserts would fail with duplicate keys.
func TestClusterAutoIncrementAcrossNodes(t *testing.T) {
	t.Parallel()
	c := harness.StartCluster(t, 2, harness.Options{Mode: harness.InProcess})
	leader := c.WaitLeader(clusterWait)
	follower := c.Followers()[0]
	ldb, fdb := leader.Open(t), follower.Open(t)
	harness.MustExec(t, ldb, "CREATE TABLE seqs (id INT AUTO_INCREMENT PRIMARY KEY, via VARCHAR(8) NOT NULL)")
	// Each node's counter is loaded (by a first insert) before the other
	// node inserts more.
	harness.MustExec(t, ldb, "INSERT INTO seqs (via) VALUES ('leader')")
	harness.MustExec(t, fdb, "INSERT INTO seqs (via) VALUES ('follower')")
	for i := 0; i < 5; i++ {
		harness.MustExec(t, ldb, "INSERT INTO seqs (via) VALUES ('leader')")
		harness.MustExec(t, fdb, "INSERT INTO seqs (via) VALUES ('follower')")
	}
	var n, maxID int
	if err := ldb.QueryRow("SELECT COUNT(*), MAX(id) FROM seqs").Scan(&n, &maxID); err != nil {
		t.Fatal(err)
	}
	if n != 12 || maxID != 12 {
		t.Fatalf("%d rows, largest id %d; want 12 rows numbered 1 to 12", n, maxID)
	}
}

// TestClusterAutoIncrementConcurrentFollowers: inserts through two
// followers at once take AUTO_INCREMENT values reserved on the leader, so
// no two take the same one. When each follower took values from its own
// counter, concurrent inserts collided, and in explicit transactions the
// loser's COMMIT failed with ER_LOCK_DEADLOCK (1213).
func TestClusterAutoIncrementConcurrentFollowers(t *testing.T) {
	t.Parallel()
	c := harness.StartCluster(t, 3, harness.Options{Mode: harness.InProcess})
	leader := c.WaitLeader(clusterWait)
	harness.MustExec(t, leader.Open(t), "CREATE TABLE seqs (id INT AUTO_INCREMENT PRIMARY KEY, via VARCHAR(8) NOT NULL)")
	const workers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for _, f := range c.Followers() {
		db := f.Open(t)
		db.SetMaxOpenConns(workers)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					tx, err := db.Begin()
					if err == nil {
						if _, err = tx.Exec("INSERT INTO seqs (via) VALUES ('follower')"); err != nil {
							_ = tx.Rollback()
						} else {
							err = tx.Commit()
						}
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("insert through a follower: %v (errno %d)", err, harness.Errno(err))
	}
	var n, distinct int
	if err := leader.Open(t).QueryRow("SELECT COUNT(*), COUNT(DISTINCT id) FROM seqs").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if want := 2 * workers * each; n != want || distinct != want {
		t.Fatalf("%d rows, %d distinct ids; want %d", n, distinct, want)
	}
}
