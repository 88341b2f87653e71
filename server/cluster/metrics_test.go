package cluster

import (
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

// Metrics exposes raft's own timings and the batcher's batch sizes once
// commits have gone through a node: the histograms a node's /metrics
// serves to explain where a replicated commit's time goes.
func TestMetricsReportRaftTimings(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(Metrics())
	leaderBefore := gatherCounter(t, reg, "raft_state_leader")

	n, ctx := startGenesis(t)
	if got := gatherCounter(t, reg, "raft_state_leader") - leaderBefore; got < 1 {
		t.Errorf("raft_state_leader moved by %v after a node became the leader", got)
	}

	// The sink is the process's: count what these commits add.
	before := gatherHistograms(t, reg)

	// Concurrent commits, so that some share a batch.
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ws := &storage.WriteSet{Mutations: []storage.Mutation{{Key: fmt.Appendf(nil, "t/%d/%d", w, i), Value: []byte("v")}}}
				if _, err := n.Propose(ctx, ws, n.db.ReadSeq(), txn.Principal{Name: "alice"}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	after := gatherHistograms(t, reg)
	delta := func(name string) (uint64, float64) {
		a, ok := after[name]
		if !ok {
			t.Fatalf("%s: not reported", name)
		}
		b := before[name]
		return a.GetSampleCount() - b.GetSampleCount(), a.GetSampleSum() - b.GetSampleSum()
	}
	// Every commit went through one raft entry of the batcher.
	batches, commits := delta("coffer_raft_batch_commits")
	if batches == 0 || commits != workers*each {
		t.Errorf("coffer_raft_batch_commits: %d batches carrying %v commits, want %d commits", batches, commits, workers*each)
	}
	if batches >= workers*each {
		t.Errorf("coffer_raft_batch_commits: %d batches for %d concurrent commits; none was batched", batches, workers*each)
	}
	for _, name := range []string{"raft_commitTime", "raft_leader_dispatchLog", "raft_fsm_applyBatch"} {
		if c, _ := delta(name); c == 0 {
			t.Errorf("%s: no samples after %d commits", name, workers*each)
		}
	}
}

// gatherHistograms returns reg's unlabelled histograms by name.
func gatherHistograms(t *testing.T, reg *prometheus.Registry) map[string]*dto.Histogram {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.Histogram{}
	for _, f := range families {
		if len(f.Metric) == 1 && f.Metric[0].Histogram != nil {
			out[f.GetName()] = f.Metric[0].Histogram
		}
	}
	return out
}

// gatherCounter returns the value of reg's unlabelled counter name.
func gatherCounter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.Metric) == 1 && f.Metric[0].Counter != nil {
			return f.Metric[0].Counter.GetValue()
		}
	}
	t.Fatalf("%s: not reported", name)
	return 0
}
