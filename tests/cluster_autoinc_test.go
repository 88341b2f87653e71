package tests

import (
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
