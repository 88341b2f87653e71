package storage

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"
)

// TestRecentConflictsMatchPebble: for random histories and random write
// sets at random read sequences, the conflict check answered from the
// remembered commits decides exactly as the one that asks pebble — the same
// error or none, on the same key at the same sequence.
func TestRecentConflictsMatchPebble(t *testing.T) {
	t.Parallel()
	db := openTest(t, t.TempDir())
	defer db.Close()
	r := rand.New(rand.NewSource(3))
	key := func() []byte { return []byte(fmt.Sprintf("t%03d", r.Intn(60))) }
	writeSet := func() *WriteSet {
		ws := &WriteSet{}
		seen := map[string]bool{}
		for n := 1 + r.Intn(4); n > 0; n-- {
			k := key()
			if seen[string(k)] {
				continue
			}
			seen[string(k)] = true
			ws.Mutations = append(ws.Mutations, Mutation{Key: k, Value: []byte("v"), Delete: r.Intn(5) == 0})
		}
		if r.Intn(3) == 0 {
			ws.Checks = append(ws.Checks, key())
		}
		sortMutations(ws)
		return ws
	}
	describe := func(err error) string {
		var ce *ConflictError
		if errors.As(err, &ce) {
			return fmt.Sprintf("conflict %s@%d", ce.Key, ce.Conflict)
		}
		return fmt.Sprint(err)
	}
	remembered, conflicts := 0, 0
	for i := 0; i < 3000; i++ {
		applied := db.AppliedSeq()
		readSeq := applied
		if applied > 0 {
			readSeq = applied - uint64(r.Intn(int(min(applied, 40))+1))
		}
		ws := writeSet()
		db.applyMu.Lock()
		if db.recent.covers(readSeq, applied) {
			remembered++
		}
		fromRecent := describe(db.checkConflicts(ws, readSeq, nil))
		db.noRecent = true
		fromPebble := describe(db.checkConflicts(ws, readSeq, nil))
		db.noRecent = false
		db.applyMu.Unlock()
		if fromRecent != fromPebble {
			t.Fatalf("write set %v at read seq %d (applied %d): remembered commits say %s, pebble says %s", ws.Mutations, readSeq, applied, fromRecent, fromPebble)
		}
		if fromRecent != "<nil>" {
			conflicts++
			readSeq = applied
		}
		if _, err := db.Apply(ws, readSeq, Commit{}); err != nil {
			t.Fatal(err)
		}
	}
	if remembered < 2500 || conflicts < 100 {
		t.Fatalf("the test did not exercise both paths: %d remembered, %d conflicts", remembered, conflicts)
	}
}
