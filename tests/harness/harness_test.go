package harness_test

import (
	"os"
	"testing"

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
