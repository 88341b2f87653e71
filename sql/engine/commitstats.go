package engine

import (
	"sync/atomic"
	"time"
)

// CommitBounds are the upper bounds, in seconds, of the commit latency
// histogram's buckets (CommitStats), from a lone fsync on a fast disk to
// a replicated commit waiting out an election.
var CommitBounds = [...]float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5}

// commitStats counts this node's commits as its sessions see them: the
// time from asking the proposer (the group commit, or raft) to the commit
// being durable and visible here, and the write conflicts sessions lost.
// Lock-free: every commit adds to a few atomics.
type commitStats struct {
	buckets   [len(CommitBounds) + 1]atomic.Uint64 // the last is +Inf
	sumNanos  atomic.Uint64
	conflicts atomic.Uint64
}

// observe counts a commit that took d, if it succeeded.
func (c *commitStats) observe(d time.Duration, err error) {
	if err != nil {
		return
	}
	s := d.Seconds()
	i := 0
	for i < len(CommitBounds) && s > CommitBounds[i] {
		i++
	}
	c.buckets[i].Add(1)
	c.sumNanos.Add(uint64(d))
}

func (c *commitStats) noteConflict() { c.conflicts.Add(1) }

// CommitStats is a snapshot of the node's commit counters.
type CommitStats struct {
	// Cumulative[i] counts the commits that took at most CommitBounds[i]
	// seconds; Count counts them all and Sum is their total in seconds.
	Cumulative []uint64
	Count      uint64
	Sum        float64
	// Conflicts counts the write conflicts sessions lost, at a statement
	// or at the commit (the transaction rolled back with ER_LOCK_DEADLOCK /
	// 40001; an autocommit statement may have been run again unseen).
	Conflicts uint64
}

// CommitStats returns the commit latency histogram and conflict count of
// the commits made through this engine's sessions since it started.
func (e *Engine) CommitStats() CommitStats {
	c := &e.commits
	out := CommitStats{Cumulative: make([]uint64, len(CommitBounds)), Conflicts: c.conflicts.Load()}
	var n uint64
	for i := range c.buckets {
		n += c.buckets[i].Load()
		if i < len(CommitBounds) {
			out.Cumulative[i] = n
		}
	}
	out.Count = n
	out.Sum = float64(c.sumNanos.Load()) / 1e9
	return out
}
