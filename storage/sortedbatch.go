package storage

import (
	"bytes"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// sortedBatch gathers a commit group's writes and adds them to a pebble
// batch in key order.
//
// Pebble inserts a batch into its memtable, a skiplist, in the order the
// batch holds the writes, with one insertion hint: where the previous key
// went. A group of commits written commit by commit alternates between
// keyspaces (a row version, a ledger entry, Merkle nodes of several
// levels, the next commit's row …), so every key searched the skiplist
// from its top: about 20 levels, mostly cache misses, once the memtable
// holds a few hundred thousand keys. In key order, the keys of each
// keyspace follow one another (sequence numbers and auto-increment keys
// grow), and the hint leaves only a few levels to search for most of
// them. Memtable inserts were about 20% of a cluster follower's CPU and
// 6–7% of a leader's or a single node's.
//
// Keys in a group are distinct (row versions carry their sequence), but
// equal keys would keep the order they were set in.
type sortedBatch struct {
	buf  []byte
	ents []sortedEntry
	// scratch keeps applyLocked's key, value and dirty-record buffers
	// between groups (Set copies what it is given).
	scratch [3][]byte
	// batched is applyLocked's map of the keys a batch's earlier commits
	// wrote (batchedKeys), kept between groups.
	batched map[string]uint64
}

// sortedEntry is one write: key buf[k:v], value buf[v:end].
type sortedEntry struct{ k, v, end int }

// maxKeptSortedBatch bounds the buffer a DB keeps between groups (a
// transaction of a million rows should not pin its size).
const maxKeptSortedBatch = 4 << 20

// maxKeptBatchedKeys bounds the written-key map kept between groups.
const maxKeptBatchedKeys = 4096

// batchedKeys returns the empty map of the keys written by a batch's
// earlier commits.
func (s *sortedBatch) batchedKeys() map[string]uint64 {
	if s.batched == nil {
		s.batched = make(map[string]uint64, 64)
	}
	return s.batched
}

// releaseBatched empties the written-key map, which refers to the
// batch's write sets' bytes, or drops it when a large batch grew it.
func (s *sortedBatch) releaseBatched() {
	if len(s.batched) > maxKeptBatchedKeys {
		s.batched = nil
		return
	}
	clear(s.batched)
}

func (s *sortedBatch) reset() {
	for i, b := range s.scratch {
		if cap(b) > maxKeptSortedBatch {
			s.scratch[i] = nil
		}
	}
	if cap(s.buf) > maxKeptSortedBatch {
		s.buf, s.ents = nil, nil
		return
	}
	s.buf, s.ents = s.buf[:0], s.ents[:0]
}

// Set adds a write of key and value (both copied).
func (s *sortedBatch) Set(key, value []byte) {
	k := len(s.buf)
	s.buf = append(s.buf, key...)
	v := len(s.buf)
	s.buf = append(s.buf, value...)
	s.ents = append(s.ents, sortedEntry{k: k, v: v, end: len(s.buf)})
}

func (s *sortedBatch) key(e sortedEntry) []byte { return s.buf[e.k:e.v] }

// writeTo adds the writes to b in key order (equal keys in the order set).
func (s *sortedBatch) writeTo(b *pebble.Batch) error {
	cmp := func(x, y sortedEntry) int {
		if c := bytes.Compare(s.key(x), s.key(y)); c != 0 {
			return c
		}
		return x.k - y.k // set earlier, buffered earlier
	}
	if !slices.IsSortedFunc(s.ents, cmp) {
		slices.SortFunc(s.ents, cmp)
	}
	for _, e := range s.ents {
		if err := b.Set(s.buf[e.k:e.v], s.buf[e.v:e.end], nil); err != nil {
			return err
		}
	}
	return nil
}
