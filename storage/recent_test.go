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
			m := Mutation{Key: k, Value: []byte("v"), Delete: r.Intn(5) == 0}
			if applied := db.AppliedSeq(); r.Intn(4) == 0 && applied > 0 {
				m.Base = applied - uint64(r.Intn(int(min(applied, 20))))
			}
			ws.Mutations = append(ws.Mutations, m)
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

// TestMutationBase: a mutation based on a newer version than the
// transaction's snapshot (a locked row read at its newest version)
// conflicts only with commits after its base, whichever way the check is
// answered; the other keys still conflict with commits after the snapshot.
func TestMutationBase(t *testing.T) {
	t.Parallel()
	db := openTest(t, t.TempDir())
	defer db.Close()
	put := func(readSeq uint64, ms ...Mutation) (uint64, error) {
		for i := range ms {
			ms[i].Value = []byte("v")
		}
		return db.Apply(&WriteSet{Mutations: ms}, readSeq, Commit{})
	}
	if _, err := put(0, Mutation{Key: []byte("a")}, Mutation{Key: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	for _, noRecent := range []bool{false, true} {
		db.applyMu.Lock()
		db.noRecent = noRecent
		db.applyMu.Unlock()
		read := uint64(0) // the snapshot before every commit
		// Based on s1: no conflict with s1 itself.
		if _, err := put(read, Mutation{Key: []byte("a"), Base: db.AppliedSeq()}); err != nil {
			t.Fatalf("noRecent=%v: a write based on the newest version conflicted: %v", noRecent, err)
		}
		// Without the base, the same write conflicts.
		if _, err := put(read, Mutation{Key: []byte("a")}); !errors.Is(err, ErrConflict) {
			t.Fatalf("noRecent=%v: a write from an old snapshot did not conflict: %v", noRecent, err)
		}
		// A base older than the newest version conflicts.
		newest := db.AppliedSeq()
		var ce *ConflictError
		if _, err := put(read, Mutation{Key: []byte("a"), Base: newest - 1}); !errors.As(err, &ce) || ce.Conflict != newest {
			t.Fatalf("noRecent=%v: a write based on seq %d did not conflict with seq %d: %v", noRecent, newest-1, newest, err)
		}
		// The base covers its own key only.
		if _, err := put(read, Mutation{Key: []byte("a"), Base: newest}, Mutation{Key: []byte("b")}); !errors.As(err, &ce) || string(ce.Key) != "b" {
			t.Fatalf("noRecent=%v: the unbased key did not conflict: %v", noRecent, err)
		}
	}
}
