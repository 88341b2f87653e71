package cluster

import (
	"context"
	"errors"
	"hash/maphash"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Settling a commit whose leader lost its role. A leader that steps down
// answers the entries it appended but had not yet seen committed with
// raft.ErrLeadershipLost: each may still be committed by the next leader
// (if it reached a majority) or be overwritten. Before, the client got
// "outcome unknown" and had to check by itself. Now the node that
// appended the entry waits, as a follower, until it has applied the log
// up to the entry's index and looks at what was applied there: the same
// bytes (a fingerprint of the entry, kept for the last appliedWindow
// commit entries) mean the entry committed, and its recorded results are
// the commits' answers; anything else at that index means it never will,
// and the commits go again, through the new leader. Only a node that
// cannot learn the index's fate in time (it stays cut off, or catches up
// through a snapshot that skips the index) still answers "outcome
// unknown".

// appliedWindow is how many commit entries the FSM remembers. A node
// settles an index soon after it applies it; the window only needs to
// cover the entries applied between that and the look-up.
const appliedWindow = 8192

// settleTimeout bounds the wait for a lost leader's entry to be decided.
const settleTimeout = 10 * time.Second

// errNotCommitted reports an entry that was appended but will never be
// committed: its commits may be proposed again.
var errNotCommitted = errors.New("cluster: the entry was not committed")

// errUndecided reports an entry whose fate this node could not learn.
var errUndecided = errors.New("cluster: could not learn whether the entry was committed")

// errPending reports an index the FSM has not processed yet. raft moves
// its applied index when it hands entries to the FSM's goroutine, before
// the FSM has applied them, so a look-up in between must wait.
var errPending = errors.New("cluster: the FSM has not reached the entry yet")

// appliedEntry is what the FSM remembers of one applied commit entry.
type appliedEntry struct {
	index uint64
	fp    uint64 // fingerprint of the entry's data
	res   any    // what ApplyBatch returned for it
}

// appliedLog is the window of recently applied commit entries, in index
// order. known is the first index from which every commit entry the FSM
// applied is in the window: entries before it fell out, were applied
// before this process started, or were skipped by a snapshot.
type appliedLog struct {
	mu      sync.Mutex
	entries []appliedEntry // a ring of appliedWindow once full
	start   int            // oldest entry's position once the ring is full
	known   uint64
	// through is the last log index the FSM has processed, a commit
	// entry or not (advance), or the store's at a reset.
	through uint64
}

var fingerprintSeed = maphash.MakeSeed()

func fingerprint(data []byte) uint64 { return maphash.Bytes(fingerprintSeed, data) }

// add records applied commit entries (in increasing index order).
func (a *appliedLog) add(es []appliedEntry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range es {
		if len(a.entries) < appliedWindow {
			a.entries = append(a.entries, e)
			continue
		}
		a.known = a.entries[a.start].index + 1
		a.entries[a.start] = e
		a.start = (a.start + 1) % appliedWindow
	}
}

// advance records that the FSM has processed the log through index
// (after add has recorded the commit entries among it).
func (a *appliedLog) advance(index uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.through = max(a.through, index)
}

// reset forgets every entry: the store was replaced by a snapshot whose
// commits up to index were never applied here one by one.
func (a *appliedLog) reset(index uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries, a.start, a.known, a.through = a.entries[:0], 0, index+1, index
}

// lookup decides the entry with fingerprint fp appended at index: its
// results if it was applied there, errNotCommitted if something else was
// (or no commit entry: a no-op, a signature), errUndecided if index is
// outside what is remembered, errPending if the FSM has not processed
// that far.
func (a *appliedLog) lookup(index, fp uint64) (any, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if index < a.known {
		return nil, errUndecided
	}
	if index > a.through {
		return nil, errPending
	}
	n := len(a.entries)
	at := func(i int) *appliedEntry { return &a.entries[(a.start+i)%n] }
	i := sort.Search(n, func(i int) bool { return at(i).index >= index })
	if i == n || at(i).index != index {
		return nil, errNotCommitted
	}
	if e := at(i); e.fp == fp {
		return e.res, nil
	}
	return nil, errNotCommitted
}

// settle waits until this node has applied the log up to index, then
// decides the entry with data's fingerprint appended there (lookup).
func (n *Node) settle(ctx context.Context, index uint64, data []byte) (any, error) {
	r := n.r()
	if r == nil || index == 0 {
		return nil, errUndecided
	}
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	// Rare (a leader change with entries in flight), so a poll: raft has
	// no notification of its applied index, which also moves past
	// entries the FSM never sees (no-ops, configurations).
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	fp := fingerprint(data)
	for {
		// raft's applied index first: an index the FSM never sees (a
		// no-op) is decided once a later entry reaches the FSM.
		if r.AppliedIndex() >= index {
			if res, err := n.fsm.applied.lookup(index, fp); !errors.Is(err, errPending) {
				return res, err
			}
		}
		select {
		case <-ctx.Done():
			return nil, errUndecided
		case <-n.stop:
			return nil, errUndecided
		case <-t.C:
		}
	}
}

// settleApply waits for f, an Apply of data; when the leader lost its
// role after appending data, it settles the entry (settle). It returns
// the entry's results, raft.ErrNotLeader when the entry was never
// committed and may go again, or another error (outcome unknown).
func (n *Node) settleApply(f raft.ApplyFuture, data []byte) (any, error) {
	err := f.Error()
	switch {
	case err == nil:
		return f.Response(), nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress),
		errors.Is(err, raft.ErrEnqueueTimeout):
		// Refused before it was appended.
		return nil, raft.ErrNotLeader
	case !errors.Is(err, raft.ErrLeadershipLost):
		return nil, err
	}
	res, serr := n.settle(context.Background(), f.Index(), data)
	switch {
	case serr == nil:
		n.log.Info("cluster: a commit entry in flight at a leader change was committed", "index", f.Index())
		return res, nil
	case errors.Is(serr, errNotCommitted):
		n.log.Info("cluster: a commit entry in flight at a leader change was not committed; proposing it again", "index", f.Index())
		return nil, raft.ErrNotLeader
	}
	return nil, err
}
