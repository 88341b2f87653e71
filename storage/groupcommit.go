package storage

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferdb/coffer/storage/ledger"
)

// Group commit. Concurrent Applies queue; the first one in the queue
// leads: it takes every queued commit (up to maxCommitGroup) and applies
// them as one ApplyBatch would, in one pebble batch with one head record,
// while the next ones queue behind. Then it hands the lead to the first
// commit that queued meanwhile and, with the members of its group, waits
// for the batch's sync, which pebble shares with the batches around it
// (when commits are busy, the leader waits for the sync first:
// holdLeadAt). A commit that finds the queue empty leads at once, so a
// lone client waits for nobody.
//
// Before, every commit took applyMu and made a pebble batch of its own:
// at 16 connections of single-row inserts the commits queued on the
// mutex, each waking the next, and each wrote its own head record and
// went through pebble's commit pipeline alone.

// maxCommitGroup bounds a group: a leader does not apply an unbounded
// queue while its own commit waits.
const maxCommitGroup = 64

// holdLeadAt is the number of applied, not yet synced commits at which a
// leader keeps the lead until its group is synced. Below it, the lead
// passes on at once and pebble pipelines the next group's WAL write
// behind the running sync, which at a few connections keeps the disk
// busy. At it and above, the commits arriving during the sync form the
// next group: at 16 connections of durable inserts the groups grew from
// 1.1 to about 5 commits, tx/s rose about 5% and p99 fell by a third
// (alternating runs); at 4 connections it made no difference.
const holdLeadAt = 4

// commitQueue is the queue of commits waiting to be applied.
type commitQueue struct {
	mu      sync.Mutex
	waiting []*commitWaiter
	leading bool // a leader is applying a group
	// unsynced counts the commits applied but not yet synced.
	unsynced atomic.Int64
	// groups counts the groups that wrote a batch (Stats).
	groups uint64
	// ps and hashes are the leading commit's scratch (leadGroup).
	ps     []Proposal
	hashes []ledger.Hash
}

// commitWaiter is one Apply in the queue.
type commitWaiter struct {
	p    Proposal
	hash ledger.Hash
	out  Outcome
	g    *commitGroup
	// wake receives true when this commit is to lead, false when its
	// group was applied (g and out are set).
	wake chan bool
}

// commitGroup is a group's applied batch, synced once for all members.
type commitGroup struct {
	b    *pebble.Batch // nil: nothing applied (every commit conflicted, or err)
	last uint64
	n    int   // commits in the batch
	err  error // the store failed: nothing of the group was applied
	once sync.Once
	// syncErr is the sync's outcome, set inside once.
	syncErr error
}

var waiterPool = sync.Pool{New: func() any { return &commitWaiter{wake: make(chan bool, 1)} }}

// applyGrouped is Apply through the commit queue.
func (db *DB) applyGrouped(ws *WriteSet, readSeq uint64, c Commit) (uint64, error) {
	w := waiterPool.Get().(*commitWaiter)
	w.p, w.hash = Proposal{WS: ws, ReadSeq: readSeq, Commit: c}, db.prepareWriteSet(ws)
	q := &db.commits
	q.mu.Lock()
	q.waiting = append(q.waiting, w)
	lead := !q.leading
	q.leading = true
	q.mu.Unlock()
	if lead || <-w.wake {
		db.leadGroup()
	}
	g, out := w.g, w.out
	*w = commitWaiter{wake: w.wake}
	waiterPool.Put(w)
	switch {
	case g.err != nil:
		return 0, g.err
	case out.Err != nil:
		return 0, out.Err
	}
	db.syncGroup(g)
	if g.syncErr != nil {
		return 0, g.syncErr
	}
	return out.Seq, nil
}

// leadGroup applies the queued commits as one group (the caller is the
// first of them), hands the lead on, and wakes the group's members.
func (db *DB) leadGroup() {
	q := &db.commits
	q.mu.Lock()
	n := min(len(q.waiting), maxCommitGroup)
	group := make([]*commitWaiter, n)
	copy(group, q.waiting)
	rest := copy(q.waiting, q.waiting[n:])
	clear(q.waiting[rest:])
	q.waiting = q.waiting[:rest]
	q.mu.Unlock()

	// ps and hashes are the leader's alone until it hands the lead on.
	ps, hashes := slices.Grow(q.ps[:0], n)[:n], slices.Grow(q.hashes[:0], n)[:n]
	for i, w := range group {
		ps[i], hashes[i] = w.p, w.hash
	}
	out := make([]Outcome, n)
	g := &commitGroup{}
	g.b, g.last, g.err = db.applyLocked(ps, hashes, out)
	clear(ps) // the write sets are the members' to drop
	q.ps, q.hashes = ps, hashes
	if g.b != nil && g.err == nil {
		g.n = n
		if q.unsynced.Add(int64(n)) >= holdLeadAt {
			// Busy: keep the lead through the sync, so that the
			// commits arriving meanwhile form the next group.
			db.syncGroup(g)
		}
	}

	q.mu.Lock()
	if g.b != nil {
		q.groups++
	}
	if len(q.waiting) > 0 {
		q.waiting[0].wake <- true
	} else {
		q.leading = false
	}
	q.mu.Unlock()
	for i, w := range group {
		w.g, w.out = g, out[i]
		if i > 0 {
			w.wake <- false
		}
	}
}

// syncGroup waits for g's batch to be durable and publishes it, once
// (ApplyBatch's batches too, as a group of no queued commits).
func (db *DB) syncGroup(g *commitGroup) {
	g.once.Do(func() {
		defer db.commits.unsynced.Add(-int64(g.n))
		defer g.b.Close()
		if !db.cfg.NoSync {
			if err := g.b.SyncWait(); err != nil {
				g.syncErr = fmt.Errorf("storage: sync commit %d: %w", g.last, err)
				return
			}
		}
		db.publish(g.last)
		db.noteCommit(g.last)
	})
}
