package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// TestGroupCommitDecidesEachCommit: 16 workers increment 8 counters with
// read-modify-write commits, retrying on conflicts, on a synced store.
// Groups form (fewer groups than commits), yet each commit is decided
// against the ones grouped before it: no increment is lost, every
// counter ends at the number of its successful commits, each Apply
// returns only once its commit is visible, and the ledger verifies. A
// copy of the open store (a crash: the counters' current entries only in
// the groups' dirty-log records) reads the same counters.
func TestGroupCommitDecidesEachCommit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(DefaultConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const workers, each, counters = 16, 40, 8
	key := func(i int) []byte { return fmt.Appendf(nil, "tcounter%d", i) }
	var mu sync.Mutex
	wins := make([]uint64, counters)
	conflicts := 0
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				k := (w + i) % counters
				for {
					seq := db.ReadSeq()
					v, _, err := db.Get(key(k), seq)
					if err != nil {
						errs <- err
						return
					}
					n := uint64(0)
					if len(v) == 8 {
						n = binary.BigEndian.Uint64(v)
					}
					got, err := db.Apply(&WriteSet{Mutations: []Mutation{{Key: key(k), Value: binary.BigEndian.AppendUint64(nil, n+1)}}}, seq, Commit{})
					if errors.Is(err, ErrConflict) {
						mu.Lock()
						conflicts++
						mu.Unlock()
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					if vis := db.ReadSeq(); vis < got {
						errs <- fmt.Errorf("Apply returned seq %d while %d was visible", got, vis)
						return
					}
					mu.Lock()
					wins[k]++
					mu.Unlock()
					break
				}
				// A key of its own, written once: after a crash only
				// its group's dirty-log record brings it back.
				if _, err := db.Apply(&WriteSet{Mutations: []Mutation{put(fmt.Sprintf("tonce%02d-%02d", w, i), "v")}}, db.ReadSeq(), Commit{}); err != nil {
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
	for k := range counters {
		v, _, err := db.Get(key(k), db.ReadSeq())
		if err != nil || binary.BigEndian.Uint64(v) != wins[k] {
			t.Fatalf("counter %d = %d (%v), %d commits incremented it", k, binary.BigEndian.Uint64(v), err, wins[k])
		}
	}
	commits := db.ReadSeq()
	db.commits.mu.Lock()
	groups := db.commits.groups
	db.commits.mu.Unlock()
	t.Logf("%d commits in %d groups, %d conflicts", commits, groups, conflicts)
	if commits != 2*workers*each || groups >= commits {
		t.Fatalf("%d commits (want %d) in %d groups: no group formed", commits, 2*workers*each, groups)
	}
	if _, err := db.VerifyLedger(nil, nil); err != nil {
		t.Fatalf("verify: %v", err)
	}
	crash := t.TempDir()
	copyDir(t, dir, crash)
	cdb, err := Open(DefaultConfig(crash))
	if err != nil {
		t.Fatal(err)
	}
	defer cdb.Close()
	if n := cdb.ov.active.Len(); n != counters+workers*each {
		t.Fatalf("%d keys recovered from the dirty log, want %d", n, counters+workers*each)
	}
	for k := range counters {
		v, _, err := cdb.Get(key(k), cdb.ReadSeq())
		if err != nil || binary.BigEndian.Uint64(v) != wins[k] {
			t.Fatalf("after the crash counter %d = %d (%v), want %d", k, binary.BigEndian.Uint64(v), err, wins[k])
		}
	}
	for w := range workers {
		for i := range each {
			if _, ok, err := cdb.Get(fmt.Appendf(nil, "tonce%02d-%02d", w, i), cdb.ReadSeq()); !ok || err != nil {
				t.Fatalf("after the crash key tonce%02d-%02d is missing (%v)", w, i, err)
			}
		}
	}
	if _, err := cdb.VerifyLedger(nil, nil); err != nil {
		t.Fatalf("verify after the crash: %v", err)
	}
}
