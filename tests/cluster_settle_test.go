package tests

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferdb/coffer/tests/harness"
)

// TestClusterLeaderChangeSettlesCommits partitions the leader while its
// clients insert, each statement a new row: the leader keeps appending
// commit entries it can no longer replicate until it steps down, and
// answers them with a lost leadership. Once another node leads, the
// partition heals. The old leader must settle every entry it had in
// flight (server/cluster/settle.go): answer the commits of an entry the
// new leader committed, and propose again, through the new leader, those
// of an entry it overwrote. So every client statement ends with OK (none
// with "outcome unknown"), and the table holds exactly the acknowledged
// rows: none lost, none added by a commit whose client got an error.
func TestClusterLeaderChangeSettlesCommits(t *testing.T) {
	t.Parallel()
	c := harness.StartCluster(t, 3, harness.Options{Mode: harness.InProcess, FaultInjection: true})
	leader := c.WaitLeader(clusterWait)
	harness.MustExec(t, leader.Open(t), "CREATE TABLE settle (id BIGINT PRIMARY KEY, w INT NOT NULL)")

	const workers = 16
	var (
		acked   atomic.Int64
		mu      sync.Mutex
		ids     []int64
		errs    []string
		wg      sync.WaitGroup
		ctx, cf = context.WithCancel(context.Background())
	)
	defer func() { cf(); wg.Wait() }()
	for w := 1; w <= workers; w++ {
		cfg := leader.Config()
		// Long enough for the partition and the settling, so that
		// every statement gets its server's answer.
		cfg.ReadTimeout, cfg.WriteTimeout = time.Minute, time.Minute
		pool := harness.OpenConfig(t, cfg)
		pool.SetMaxOpenConns(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(1); ctx.Err() == nil; i++ {
				id := int64(w)<<32 | i
				if _, err := pool.Exec("INSERT INTO settle VALUES (?, ?)", id, w); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("worker %d, row %d: %v", w, i, err))
					mu.Unlock()
					return
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
				acked.Add(1)
			}
		}()
	}
	progress := func(what string, n int64) {
		t.Helper()
		from := acked.Load()
		harness.Eventually(t, clusterWait, func() error {
			mu.Lock()
			defer mu.Unlock()
			if len(errs) > 0 {
				t.Fatalf("%s: %s", what, strings.Join(errs, "\n"))
			}
			if got := acked.Load() - from; got < n {
				return fmt.Errorf("%s: %d inserts acknowledged", what, got)
			}
			return nil
		})
	}
	progress("before the partition", 200)
	leader.Partition()
	next := c.WaitLeader(clusterWait, leader)
	t.Logf("partitioned the leader %s; %s leads", leader.NodeID(), next.NodeID())
	leader.Heal()
	progress("after the partition healed", 200)
	cf()
	wg.Wait()
	for _, e := range errs {
		t.Error(e)
	}
	out := leader.Output()
	settled := strings.Count(out, "in flight at a leader change")
	if settled == 0 {
		t.Fatalf("the old leader %s settled no commit entry: the partition caught none in flight", leader.NodeID())
	}
	t.Logf("%d inserts acknowledged; the old leader settled %d entries (%d committed, %d proposed again)",
		len(ids), settled, strings.Count(out, "leader change was committed"), strings.Count(out, "proposing it again"))

	c.WaitConverged(clusterWait)
	db := next.Open(t)
	rows, err := db.Query("SELECT id FROM settle ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var stored []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	if !slices.Equal(stored, ids) {
		missing, extra := diffSorted(ids, stored), diffSorted(stored, ids)
		t.Fatalf("the table holds %d rows, %d acknowledged: %d acknowledged rows missing (%v), %d rows never acknowledged (%v)",
			len(stored), len(ids), len(missing), head(missing), len(extra), head(extra))
	}
}

// diffSorted returns the values of a (sorted) missing from b (sorted).
func diffSorted(a, b []int64) []int64 {
	var out []int64
	for _, v := range a {
		if _, ok := slices.BinarySearch(b, v); !ok {
			out = append(out, v)
		}
	}
	return out
}

func head(v []int64) []int64 { return v[:min(len(v), 5)] }
