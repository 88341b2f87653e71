package storage

import (
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Point reads (Get) reuse pebble iterators: creating one (a read state,
// a merging iterator over the memtables and every level) costs more than
// the seek a point read needs. A pebble iterator reads the store as it was
// when it was created, so each pooled iterator remembers the newest
// visible sequence at its creation — its view — and serves only reads at
// or below it; every commit at or below the view was in pebble before the
// iterator existed. Iterators older than maxPooledAge are closed instead
// of reused, so that an idle pool does not keep old memtables and files
// alive; Restore and Close empty the pool.

const (
	maxPooledIters = 16
	maxPooledAge   = 250 * time.Millisecond
)

type pooledIter struct {
	it   *pebble.Iterator
	view uint64
	born time.Time
	gen  uint64
}

type iterPool struct {
	mu    sync.Mutex
	its   []pooledIter
	gen   uint64 // bumped by drain: older iterators are not reused
	drain bool   // closed store: nothing is pooled any more
}

// getIter returns an iterator whose view includes seq.
func (db *DB) getIter(seq uint64) (pooledIter, error) {
	p := &db.iters
	now := time.Now()
	p.mu.Lock()
	for len(p.its) > 0 {
		pi := p.its[len(p.its)-1]
		p.its = p.its[:len(p.its)-1]
		if pi.gen == p.gen && pi.view >= seq && now.Sub(pi.born) < maxPooledAge {
			p.mu.Unlock()
			return pi, nil
		}
		_ = pi.it.Close()
	}
	gen := p.gen
	p.mu.Unlock()
	view := db.visible.Load() // before the iterator: everything up to it is in pebble
	it, err := db.pdb.NewIter(nil)
	if err != nil {
		return pooledIter{}, err
	}
	return pooledIter{it: it, view: view, born: now, gen: gen}, nil
}

// putIter returns an iterator to the pool (or closes it).
func (db *DB) putIter(pi pooledIter) {
	p := &db.iters
	p.mu.Lock()
	if p.drain || pi.gen != p.gen || len(p.its) >= maxPooledIters || time.Since(pi.born) >= maxPooledAge {
		p.mu.Unlock()
		_ = pi.it.Close()
		return
	}
	p.its = append(p.its, pi)
	p.mu.Unlock()
}

// drainIters closes every pooled iterator; with stop, none is pooled again.
func (db *DB) drainIters(stop bool) {
	p := &db.iters
	p.mu.Lock()
	its := p.its
	p.its = nil
	p.gen++
	p.drain = p.drain || stop
	p.mu.Unlock()
	for _, pi := range its {
		_ = pi.it.Close()
	}
}
