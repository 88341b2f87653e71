package txn

import (
	"bytes"

	"github.com/RaduBerinde/btreemap"
	"github.com/cofferdb/coffer/storage"
)

func minKey() btreemap.LowerBound[[]byte] { return btreemap.Min[[]byte]() }
func maxKey() btreemap.UpperBound[[]byte] { return btreemap.Max[[]byte]() }

// Iter merges a snapshot iterator with a copy of the buffered writes; a
// buffered write hides the snapshot's version of the same key.
type Iter struct {
	snap    *storage.Iter
	buf     []bufKV
	bi      int
	started bool
	key     []byte
	value   []byte
	fromBuf bool
	valid   bool
}

// First positions at the first visible key.
func (i *Iter) First() bool {
	i.started = true
	i.snap.First()
	return i.settle()
}

// SeekGE positions at the first visible key >= key.
func (i *Iter) SeekGE(key []byte) bool {
	i.started = true
	i.snap.SeekGE(key)
	i.bi = 0
	for i.bi < len(i.buf) && bytes.Compare(i.buf[i.bi].key, key) < 0 {
		i.bi++
	}
	return i.settle()
}

// Next moves to the next visible key.
func (i *Iter) Next() bool {
	if !i.started {
		return i.First()
	}
	if !i.valid {
		return false
	}
	if i.fromBuf {
		if i.snap.Valid() && bytes.Equal(i.snap.Key(), i.key) {
			i.snap.Next()
		}
		i.bi++
	} else {
		i.snap.Next()
	}
	return i.settle()
}

func (i *Iter) settle() bool {
	for {
		sv := i.snap.Valid()
		bv := i.bi < len(i.buf)
		switch {
		case !sv && !bv:
			i.valid = false
			return false
		case bv && (!sv || bytes.Compare(i.buf[i.bi].key, i.snap.Key()) <= 0):
			e := i.buf[i.bi]
			if e.delete {
				if sv && bytes.Equal(e.key, i.snap.Key()) {
					i.snap.Next()
				}
				i.bi++
				continue
			}
			i.key, i.value, i.fromBuf, i.valid = e.key, e.value, true, true
			return true
		default:
			i.key, i.value, i.fromBuf, i.valid = i.snap.Key(), i.snap.Value(), false, true
			return true
		}
	}
}

// Valid reports whether the iterator is at a key.
func (i *Iter) Valid() bool { return i.valid }

// Key returns the current key (valid until the next move).
func (i *Iter) Key() []byte { return i.key }

// Value returns the current value (valid until the next move).
func (i *Iter) Value() []byte { return i.value }

// Close releases the iterator.
func (i *Iter) Close() error { return i.snap.Close() }

// Error returns the first error met.
func (i *Iter) Error() error { return i.snap.Error() }
