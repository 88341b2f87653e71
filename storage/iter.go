package storage

import (
	"bytes"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Get returns the value of userKey as of seq. ok is false when the key has
// no version at or before seq, or that version is a deletion.
func (db *DB) Get(userKey []byte, seq uint64) (value []byte, ok bool, err error) {
	if db.closed.Load() {
		return nil, false, ErrClosed
	}
	pi, err := db.getIter(seq)
	if err != nil {
		return nil, false, err
	}
	defer db.putIter(pi)
	// Versions sort newest first: the first key at or after (userKey, seq)
	// is userKey's newest version at or before seq, if it has one. (No
	// stored user key has another as a prefix: see keys.go.)
	if !pi.it.SeekGE(appendVersion(userKey, seq)) {
		return nil, false, pi.it.Error()
	}
	u, _, vok := splitVersion(pi.it.Key())
	if !vok || string(u) != string(userKey) {
		return nil, false, nil
	}
	v := pi.it.Value()
	if len(v) == 0 || v[0] == valTombstone {
		return nil, false, nil
	}
	return bytes.Clone(v[1:]), true, nil
}

// Iter walks the newest visible version of each user key in [lo, hi) as of
// a sequence number, skipping deleted keys. Key and Value are valid until
// the next positioning call.
type Iter struct {
	it    *pebble.Iterator
	seq   uint64
	key   []byte
	value []byte
	valid bool
	skip  []byte // scratch copy of the key being skipped
}

// NewIter returns an iterator over user keys in [lo, hi) as of seq.
func (db *DB) NewIter(lo, hi []byte, seq uint64) (*Iter, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	return &Iter{it: it, seq: seq}, nil
}

// First positions at the first visible key.
func (i *Iter) First() bool { return i.settle(i.it.First()) }

// SeekGE positions at the first visible key >= userKey.
func (i *Iter) SeekGE(userKey []byte) bool {
	return i.settle(i.it.SeekGE(appendVersion(userKey, i.seq)))
}

// Next moves to the next visible key.
func (i *Iter) Next() bool {
	if !i.valid {
		return false
	}
	return i.settle(i.skipKey(i.key))
}

// Valid reports whether the iterator is positioned at a key.
func (i *Iter) Valid() bool { return i.valid }

// Key returns the current user key.
func (i *Iter) Key() []byte { return i.key }

// Value returns the current value.
func (i *Iter) Value() []byte { return i.value }

// Error returns the first error met.
func (i *Iter) Error() error { return i.it.Error() }

// Close releases the iterator.
func (i *Iter) Close() error { return i.it.Close() }

// settle moves forward from the current pebble position to the first user
// key that has a live version at or before seq.
func (i *Iter) settle(ok bool) bool {
	for ok {
		u, seq, vok := splitVersion(i.it.Key())
		if !vok {
			ok = i.it.Next()
			continue
		}
		if seq > i.seq {
			// Too new: jump to this key's newest version at or before seq.
			ok = i.it.SeekGE(appendVersion(u, i.seq))
			continue
		}
		v := i.it.Value()
		if len(v) == 0 || v[0] == valTombstone {
			ok = i.skipKey(u)
			continue
		}
		i.key = append(i.key[:0], u...)
		i.value = v[1:]
		i.valid = true
		return true
	}
	i.valid = false
	return false
}

// skipKey moves past every version of userKey. A few Next calls are cheaper
// than a seek when a key has little history.
func (i *Iter) skipKey(userKey []byte) bool {
	i.skip = append(i.skip[:0], userKey...)
	u := i.skip
	for n := 0; n < 4; n++ {
		if !i.it.Next() {
			return false
		}
		if k, _, ok := splitVersion(i.it.Key()); !ok || !bytes.Equal(k, u) {
			return true
		}
	}
	end := PrefixEnd(u)
	if end == nil {
		return false
	}
	return i.it.SeekGE(end)
}

// Versions calls fn for every version at or before seq of every user key
// in [lo, hi): keys in order, each key's versions newest first. value is
// nil for a deletion. The slices are valid only during the call.
func (db *DB) Versions(lo, hi []byte, seq uint64, fn func(userKey []byte, seq uint64, value []byte) error) error {
	if db.closed.Load() {
		return ErrClosed
	}
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		u, s, vok := splitVersion(it.Key())
		if !vok || s > seq {
			continue
		}
		v := it.Value()
		var val []byte
		if len(v) > 0 && v[0] == valPresent {
			val = v[1:]
		}
		if err := fn(u, s, val); err != nil {
			return err
		}
	}
	return it.Error()
}

// SeqAt returns the newest sequence committed at or before t (0 if none).
func (db *DB) SeqAt(t time.Time) (uint64, error) {
	lo, hi := uint64(0), db.ReadSeq() // invariant: seq lo is at or before t
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		e, err := db.Entry(mid)
		if err != nil {
			return 0, err
		}
		if e.CommittedAt <= t.UnixNano() {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo, nil
}
