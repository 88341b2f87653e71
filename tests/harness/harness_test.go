package harness_test

import (
	"os"
	"testing"
	"time"

	"github.com/cofferdb/coffer/tests/harness"
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }

// TestNodeLifecycle checks the harness itself: a node answers, keeps its
// data over Stop/Restart, and (as a process) over Kill/Restart.
func TestNodeLifecycle(t *testing.T) {
	for _, mode := range harness.Modes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			n := harness.Start(t, harness.Options{Mode: mode})
			db := n.Open(t)
			harness.MustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
			n.Restart()
			if mode == harness.Process {
				harness.MustExec(t, db, "INSERT INTO t VALUES (2)")
				n.Kill()
				if n.Running() {
					t.Fatal("node still running after Kill")
				}
				n.Restart()
			}
			var count int
			db = n.Open(t) // see Restart: old in-process connections are stale
			if err := db.QueryRow("SELECT COUNT(*) FROM t").Scan(&count); err != nil {
				t.Fatal(err)
			}
			want := map[harness.Mode]int{harness.Process: 2, harness.InProcess: 1}[mode]
			if count != want {
				t.Fatalf("rows after restart: got %d, want %d", count, want)
			}
		})
	}
}

// TestCluster checks the cluster harness itself: three in-process nodes
// elect one leader, a partitioned leader is replaced, and after Heal
// every node converges on the same state.
func TestCluster(t *testing.T) {
	t.Parallel()
	c := harness.StartCluster(t, 3, harness.Options{Mode: harness.InProcess})
	leader := c.WaitLeader(30 * time.Second)
	if f := c.Followers(); len(f) != 2 {
		t.Fatalf("%d followers, want 2", len(f))
	}
	harness.MustExec(t, leader.Open(t), "CREATE TABLE t (id INT PRIMARY KEY)")
	leader.Partition()
	next := c.WaitLeader(30*time.Second, leader)
	if next == leader {
		t.Fatal("WaitLeader returned the excepted node")
	}
	harness.MustExec(t, next.Open(t), "INSERT INTO t VALUES (1)")
	leader.Heal()
	if st := c.WaitConverged(30 * time.Second); st.Seq == 0 || st.ChainHead == "" {
		t.Fatalf("converged on an empty state: %+v", st)
	}
}
