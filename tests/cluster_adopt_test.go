package tests

import (
	"testing"

	"github.com/cofferdb/coffer/tests/harness"
)

// TestClusterAdoptsSingleNodeStore: a node that ran alone (no --raft-addr)
// restarts with replication on and becomes a one-voter cluster with no
// migration; a joiner receives the whole pre-Raft store (as a snapshot,
// since the log does not hold that history).
func TestClusterAdoptsSingleNodeStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	alone := harness.Start(t, harness.Options{Mode: harness.InProcess, DataDir: dir})
	db := alone.Open(t)
	harness.MustExec(t, db, "CREATE TABLE old (id INT PRIMARY KEY)", "INSERT INTO old VALUES (1), (2), (3)", "ADD NODE 'n2'")
	db.Close()
	alone.Stop()

	n1 := harness.Start(t, harness.Options{Mode: harness.InProcess, DataDir: dir, Raft: true, NodeID: "n1"})
	n2 := harness.Start(t, harness.Options{Mode: harness.InProcess, Raft: true, NodeID: "n2", Join: n1.RaftAddr()})
	var n int
	if err := n2.Open(t).QueryRow("SELECT COUNT(*) FROM old").Scan(&n); err != nil || n != 3 {
		t.Fatalf("the joiner reads %d rows of the pre-Raft table (%v), want 3", n, err)
	}
	harness.MustExec(t, n2.Open(t), "INSERT INTO old VALUES (4)")
	if err := n1.Open(t).QueryRow("SELECT COUNT(*) FROM old").Scan(&n); err != nil || n != 4 {
		t.Fatalf("n1 reads %d rows after a write through n2 (%v), want 4", n, err)
	}
}
