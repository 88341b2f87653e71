package cluster

import (
	"errors"
	"testing"
)

// TestAppliedLogLookup checks how a lost leader's entry is decided from
// the window of applied commit entries: its results when the same bytes
// were applied at its index, not committed when other bytes or no commit
// entry were, undecided before what the window covers (fallen out, or
// applied before a restart or a snapshot), and pending past what the FSM
// has processed (raft's applied index runs ahead of the FSM).
func TestAppliedLogLookup(t *testing.T) {
	entry := func(i uint64) []byte { return []byte{cmdVersion, cmdCommit, byte(i), byte(i >> 8)} }
	var a appliedLog
	a.reset(10) // the store held commits up to index 10 at start
	var es []appliedEntry
	for i := uint64(11); len(es) < appliedWindow; i++ {
		if i%3 == 0 {
			continue // a signature or a no-op: not a commit entry
		}
		es = append(es, appliedEntry{index: i, fp: fingerprint(entry(i)), res: applyResult{seq: i * 10}})
	}
	a.add(es[:100])

	check := func(index uint64, data []byte, want error, wantSeq uint64) {
		t.Helper()
		res, err := a.lookup(index, fingerprint(data))
		if !errors.Is(err, want) || want == nil && err != nil {
			t.Fatalf("lookup(%d) = %v, want %v", index, err, want)
		}
		if want == nil {
			if r, ok := res.(applyResult); !ok || r.seq != wantSeq {
				t.Fatalf("lookup(%d) results %#v, want seq %d", index, res, wantSeq)
			}
		}
	}
	// Recorded but not yet processed through (the FSM advances after
	// the whole batch): pending, not "not committed".
	check(50, entry(50), errPending, 0)
	a.advance(es[99].index)
	check(50, entry(50), nil, 500)
	a.add(es[100:])
	check(es[99].index+2, entry(es[99].index+2), errPending, 0)
	a.advance(es[len(es)-1].index)
	check(11, entry(11), nil, 110)
	check(500, entry(500), nil, 5000)
	check(500, entry(501), errNotCommitted, 0) // other bytes at the index
	check(501, entry(501), errNotCommitted, 0) // 501 % 3 == 0: no commit entry there
	check(10, entry(10), errUndecided, 0)      // applied before the start
	check(5, entry(5), errUndecided, 0)

	// The window is full: each new entry pushes the oldest out.
	last := es[len(es)-1].index
	more := []appliedEntry{
		{index: last + 1, fp: fingerprint(entry(last + 1)), res: applyResult{seq: 1}},
		{index: last + 2, fp: fingerprint(entry(last + 2)), res: applyResult{seq: 2}},
	}
	a.add(more)
	a.advance(last + 3)                   // last+3: a signature or a no-op
	check(11, entry(11), errUndecided, 0) // pushed out
	check(13, entry(13), errUndecided, 0) // and the one after it
	check(14, entry(14), nil, 140)
	check(last+2, entry(last+2), nil, 2)
	check(last+3, entry(last+3), errNotCommitted, 0)

	// A snapshot replaced the store: what it covers is undecided.
	a.reset(last + 10)
	check(last+2, entry(last+2), errUndecided, 0)
	check(last+11, entry(last+11), errPending, 0)
	a.add([]appliedEntry{{index: last + 11, fp: fingerprint(entry(last + 11)), res: applyResult{seq: 3}}})
	a.advance(last + 11)
	check(last+11, entry(last+11), nil, 3)
}
