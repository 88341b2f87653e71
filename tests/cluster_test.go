package tests

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferdb/coffer/tests/harness"
)

// Cluster tests: three-node raft clusters on loopback, started by
// harness.StartCluster. They run in-process (where -race sees the
// server) unless they need SIGKILL.

// clusterWait bounds elections, catch-up and convergence.
const clusterWait = 30 * time.Second

// TestClusterWritesAnywhere proves that a write committed through any
// node, leader or follower, is visible at once on every node (reads are
// linearizable by default), that a session on a follower reads its own
// write, that coffer_read_mode = 'follower' serves local reads, and that
// SHOW CLUSTER lists the three nodes with one leader.
func TestClusterWritesAnywhere(t *testing.T) {
	t.Parallel()
	c := harness.StartCluster(t, 3, harness.Options{Mode: harness.InProcess})
	leader := c.WaitLeader(clusterWait)
	rows, err := leader.ShowCluster()
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]int{}
	for _, r := range rows {
		roles[r.Role]++
	}
	if len(rows) != 3 || roles["leader"] != 1 || roles["follower"] != 2 {
		t.Fatalf("SHOW CLUSTER: want 3 nodes, one leader and two followers, got %+v", rows)
	}
	harness.MustExec(t, leader.Open(t), "CREATE TABLE notes (id INT PRIMARY KEY, via VARCHAR(8) NOT NULL)")

	dbs := map[*harness.Node]*sql.DB{}
	for _, n := range c.Nodes {
		dbs[n] = n.Open(t)
	}
	for i, writer := range c.Nodes {
		id := i + 1
		// One connection: the session that writes is the one that reads.
		conn, err := dbs[writer].Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(context.Background(), "INSERT INTO notes VALUES (?, ?)", id, writer.NodeID()); err != nil {
			t.Fatalf("insert through %s: %v", writer.NodeID(), err)
		}
		var via string
		if err := conn.QueryRowContext(context.Background(), "SELECT via FROM notes WHERE id = ?", id).Scan(&via); err != nil {
			t.Fatalf("%s does not read its own write: %v", writer.NodeID(), err)
		}
		conn.Close()
		for _, reader := range c.Nodes {
			if err := dbs[reader].QueryRow("SELECT via FROM notes WHERE id = ?", id).Scan(&via); err != nil {
				t.Errorf("row written through %s, read on %s right after the commit: %v", writer.NodeID(), reader.NodeID(), err)
			}
		}
	}

	for _, f := range c.Followers() {
		conn, err := dbs[f].Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		harness.MustExec(t, conn, "SET coffer_read_mode = 'follower'")
		// A follower read may lag, within the staleness bound.
		harness.Eventually(t, clusterWait, func() error {
			var count int
			if err := conn.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM notes").Scan(&count); err != nil {
				return err
			}
			if count != len(c.Nodes) {
				return fmt.Errorf("follower read on %s sees %d rows, want %d", f.NodeID(), count, len(c.Nodes))
			}
			return nil
		})
		conn.Close()
	}
}

// TestClusterLeaderKill proves that after the leader is killed with
// SIGKILL the survivors elect a new leader and take writes through
// either of them, and that the killed node, restarted, catches up to the
// same chain head and serves every row.
func TestClusterLeaderKill(t *testing.T) {
	t.Parallel()
	c := harness.StartCluster(t, 3, harness.Options{Mode: harness.Process})
	old := c.WaitLeader(clusterWait)
	harness.MustExec(t, old.Open(t), "CREATE TABLE kv (k INT PRIMARY KEY, v VARCHAR(16) NOT NULL)")
	for k := 1; k <= 10; k++ {
		harness.MustExec(t, old.Open(t), fmt.Sprintf("INSERT INTO kv VALUES (%d, 'before')", k))
	}
	old.Kill()
	leader := c.WaitLeader(clusterWait, old)
	t.Logf("%s killed; %s leads", old.NodeID(), leader.NodeID())
	k := 100
	for _, n := range c.Running() {
		for range 5 {
			k++
			harness.MustExec(t, n.Open(t), fmt.Sprintf("INSERT INTO kv VALUES (%d, 'after %s')", k, n.NodeID()))
		}
	}
	old.Restart()
	state := c.WaitConverged(clusterWait)
	var count int
	if err := old.Open(t).QueryRow("SELECT COUNT(*) FROM kv").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if want := 10 + 5*2; count != want {
		t.Errorf("restarted %s has %d rows, want %d", old.NodeID(), count, want)
	}
	t.Logf("converged at seq %d, head %.16s…", state.Seq, state.ChainHead)
	checkLedgersIdentical(t, c)
}

// TestClusterFullRestart proves that a cluster whose nodes all stopped
// comes back when they are restarted one at a time: a restarted member
// starts from its own data dir and accepts connections before a quorum
// is back, the nodes elect a leader once a majority runs, every node
// takes writes again, and their ledgers are identical.
func TestClusterFullRestart(t *testing.T) {
	t.Parallel()
	c := harness.StartCluster(t, 3, harness.Options{Mode: harness.InProcess})
	harness.MustExec(t, c.WaitLeader(clusterWait).Open(t), "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	c.WaitConverged(clusterWait)
	for _, n := range c.Nodes {
		n.Stop()
	}
	for _, n := range c.Nodes {
		n.Restart() // returns once n accepts connections; n1 alone has no quorum
	}
	c.WaitLeader(clusterWait)
	for i, n := range c.Nodes {
		harness.MustExec(t, n.Open(t), fmt.Sprintf("INSERT INTO t VALUES (%d)", 10+i))
	}
	var count int
	if err := c.Nodes[0].Open(t).QueryRow("SELECT COUNT(*) FROM t").Scan(&count); err != nil || count != 4 {
		t.Fatalf("after the restart n1 reads %d rows (%v), want 4", count, err)
	}
	checkLedgersIdentical(t, c)
}

// TestClusterReadAfterFailover proves that reads stay linearizable
// across a change of leader: a write the old leader acknowledged just
// before it was cut off is seen by every read served after that, on the
// new leader and on the other follower. (A new leader holds such an
// entry but applies it only once an entry of its own term commits; it
// must not serve reads before.) The window is a few milliseconds, so
// several readers per node read through each failover.
func TestClusterReadAfterFailover(t *testing.T) {
	t.Parallel()
	c := harness.StartCluster(t, 3, harness.Options{Mode: harness.InProcess})
	harness.MustExec(t, c.WaitLeader(clusterWait).Open(t), "CREATE TABLE marks (id INT PRIMARY KEY)")
	dbs := map[*harness.Node]*sql.DB{}
	for _, n := range c.Nodes {
		dbs[n] = n.Open(t)
		dbs[n].SetMaxOpenConns(4)
	}
	var reads, stale atomic.Int64
	for cycle := 1; cycle <= 3; cycle++ {
		old := c.WaitLeader(clusterWait)
		if _, err := dbs[old].Exec("INSERT INTO marks VALUES (?)", cycle); err != nil {
			t.Fatal(err)
		}
		old.Partition()
		var wg sync.WaitGroup
		for _, n := range c.Running() {
			if n == old {
				continue
			}
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					deadline := time.Now().Add(clusterWait)
					for ok := 0; ok < 20 && time.Now().Before(deadline); {
						var count int
						if err := dbs[n].QueryRow("SELECT COUNT(*) FROM marks WHERE id = ?", cycle).Scan(&count); err != nil {
							continue // no leader yet
						}
						ok++
						reads.Add(1)
						if count == 0 {
							stale.Add(1)
						}
					}
				}()
			}
		}
		wg.Wait()
		old.Heal()
		c.WaitConverged(clusterWait)
	}
	if stale.Load() > 0 {
		t.Errorf("%d of %d reads after a failover missed a write the old leader acknowledged", stale.Load(), reads.Load())
	}
}

// TestClusterSnapshotRejoin proves that a follower that was down while
// the leader compacted its log past the follower's position catches up
// by installing a snapshot, and ends with the leader's chain head.
func TestClusterSnapshotRejoin(t *testing.T) {
	t.Parallel()
	c := harness.StartCluster(t, 3, harness.Options{Mode: harness.InProcess, RaftSnapshotThreshold: 16, RaftTrailingLogs: 4})
	leader := c.WaitLeader(clusterWait)
	db := leader.Open(t)
	harness.MustExec(t, db, "CREATE TABLE events (id INT PRIMARY KEY, body VARCHAR(32) NOT NULL)")
	c.WaitConverged(clusterWait)
	down := c.Followers()[0]
	down.Stop()
	compactions := strings.Count(leader.Output(), "compacting logs")
	id := 0
	// Write until the leader has compacted its log at least twice since
	// the follower stopped: then the entries it lacks are gone from the
	// log, and only a snapshot can bring it up to date.
	harness.Eventually(t, clusterWait, func() error {
		for range 2 {
			id++
			if _, err := db.Exec("INSERT INTO events VALUES (?, 'while a follower is down')", id); err != nil {
				return err
			}
		}
		if n := strings.Count(leader.Output(), "compacting logs") - compactions; n < 2 {
			return fmt.Errorf("the leader compacted its log %d times since %s stopped", n, down.NodeID())
		}
		return nil
	})
	down.Restart()
	harness.Eventually(t, clusterWait, func() error {
		if !strings.Contains(down.Output(), "restored a snapshot") {
			return fmt.Errorf("%s has not restored a snapshot", down.NodeID())
		}
		return nil
	})
	state := c.WaitConverged(clusterWait)
	var count int
	if err := down.Open(t).QueryRow("SELECT COUNT(*) FROM events").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != id {
		t.Errorf("%s has %d events after the snapshot, want %d", down.NodeID(), count, id)
	}
	t.Logf("%d events written while %s was down; converged at seq %d", id, down.NodeID(), state.Seq)
	checkLedgersIdentical(t, c)
}

// TestClusterAdmission proves that a node joining under an id no member
// admitted waits, listed as pending in SHOW CLUSTER (on the leader and on
// followers), that ADD NODE lets it in as a follower that serves the
// cluster's data, and that REMOVE NODE takes it out of the configuration.
func TestClusterAdmission(t *testing.T) {
	t.Parallel()
	c := harness.StartCluster(t, 2, harness.Options{Mode: harness.InProcess})
	leader := c.WaitLeader(clusterWait)
	harness.MustExec(t, leader.Open(t), "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	joiner := c.StartPending("n3")
	for _, n := range c.Running() {
		waitRole(t, n, "n3", "pending")
	}
	if joiner.Running() {
		t.Fatal("a node that was not admitted serves clients")
	}

	c.Admit("n3")
	joiner.WaitStarted()
	waitRole(t, leader, "n3", "follower")
	var count int
	if err := joiner.Open(t).QueryRow("SELECT COUNT(*) FROM t").Scan(&count); err != nil || count != 1 {
		t.Fatalf("admitted n3 reads %d rows (%v), want 1", count, err)
	}

	harness.MustExec(t, leader.Open(t), "REMOVE NODE 'n3'")
	harness.Eventually(t, clusterWait, func() error {
		rows, err := leader.ShowCluster()
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.ID == "n3" {
				return fmt.Errorf("SHOW CLUSTER still lists n3 as %s", r.Role)
			}
		}
		return nil
	})
	joiner.Stop()
	harness.MustExec(t, c.WaitLeader(clusterWait).Open(t), "INSERT INTO t VALUES (2)")
}

// waitRole waits until SHOW CLUSTER on n lists node id with role.
func waitRole(t *testing.T, n *harness.Node, id, role string) {
	t.Helper()
	harness.Eventually(t, clusterWait, func() error {
		rows, err := n.ShowCluster()
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.ID == id && r.Role == role {
				return nil
			}
		}
		return fmt.Errorf("SHOW CLUSTER on %s: want %s %s, got %+v", n.NodeID(), id, role, rows)
	})
}

// checkLedgersIdentical waits until every node holds the same state and
// the leader signed its head, stops every node and checks that
// `coffer ledger verify` prints the same summary for every data dir.
func checkLedgersIdentical(t *testing.T, c *harness.Cluster) {
	t.Helper()
	// Once the head is signed the signer has nothing more to sign, so
	// the nodes stop at the same entry and signature.
	harness.Eventually(t, clusterWait, func() error {
		state := c.WaitConverged(clusterWait)
		for _, n := range c.Running() {
			var signed sql.NullInt64
			if err := n.Open(t).QueryRow("SELECT MAX(size) FROM coffer_ledger.signatures").Scan(&signed); err != nil {
				return err
			}
			if uint64(signed.Int64) != state.Seq {
				return fmt.Errorf("%s: signed up to %d of %d entries", n.NodeID(), signed.Int64, state.Seq)
			}
		}
		return nil
	})
	for _, n := range c.Running() {
		n.Stop()
	}
	want := c.Nodes[0].VerifyLedger()
	for _, n := range c.Nodes[1:] {
		if got := n.VerifyLedger(); got != want {
			t.Errorf("coffer ledger verify: %s says %q, %s says %q", c.Nodes[0].NodeID(), want, n.NodeID(), got)
		}
	}
	t.Logf("every node: %s", want)
}
