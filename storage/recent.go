package storage

import (
	"bytes"
	"sort"
)

// The conflict check runs under applyMu, so its cost bounds how many
// commits per second one store takes. It asks, for every key a commit
// writes or checks, whether a commit after the transaction's read sequence
// wrote it. Snapshots are almost always recent, so the store remembers the
// keys each of its last recentCommits commits wrote and answers from
// memory when every commit since the read sequence is remembered; it asks
// pebble otherwise (after a restart, a restore, a long transaction, or a
// large commit, whose keys it does not keep). Both answers are exact — the
// same keys compared byte for byte — so replicas decide alike whichever way
// each of them answers.

const (
	recentCommits = 4096
	recentMaxKeys = 1024
)

type recentWrites struct {
	seq  [recentCommits]uint64   // seq[i] is the commit slot i describes (0: none)
	keys [recentCommits][][]byte // its written keys, sorted
}

// note records the keys of commit seq (ws sorted); called under applyMu.
func (r *recentWrites) note(seq uint64, ws *WriteSet) {
	i := seq % recentCommits
	if len(ws.Mutations) > recentMaxKeys {
		r.seq[i], r.keys[i] = 0, nil // not remembered: pebble answers
		return
	}
	n := 0
	for _, m := range ws.Mutations {
		n += len(m.Key)
	}
	buf := make([]byte, 0, n)
	keys := r.keys[i][:0]
	for _, m := range ws.Mutations {
		start := len(buf)
		buf = append(buf, m.Key...)
		keys = append(keys, buf[start:len(buf):len(buf)])
	}
	r.seq[i], r.keys[i] = seq, keys
}

// reset forgets every commit (the store's contents were replaced).
func (r *recentWrites) reset() {
	for i := range r.seq {
		r.seq[i], r.keys[i] = 0, nil
	}
}

// newestWrite returns the newest commit in (from, to] that wrote key.
// known is false when some commit in that range is not remembered.
func (r *recentWrites) newestWrite(key []byte, from, to uint64) (seq uint64, found, known bool) {
	if to-from > recentCommits {
		return 0, false, false
	}
	for s := to; s > from; s-- {
		i := s % recentCommits
		if r.seq[i] != s {
			return 0, false, false
		}
		ks := r.keys[i]
		j := sort.Search(len(ks), func(j int) bool { return bytes.Compare(ks[j], key) >= 0 })
		if j < len(ks) && bytes.Equal(ks[j], key) {
			return s, true, true
		}
	}
	return 0, false, true
}

// covers reports whether every commit in (from, to] is remembered.
func (r *recentWrites) covers(from, to uint64) bool {
	if to-from > recentCommits {
		return false
	}
	for s := to; s > from; s-- {
		if r.seq[s%recentCommits] != s {
			return false
		}
	}
	return true
}
