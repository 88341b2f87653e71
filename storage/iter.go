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
	// The overlay first, then an iterator drawn after it (overlay.go).
	var cseq uint64
	var v []byte
	e, inOverlay, complete := db.ov.get(userKey)
	if inOverlay {
		cseq, v = e.seq, e.version
	} else if complete {
		return nil, false, nil // no version at all
	}
	if !inOverlay || cseq > seq {
		pi, err := db.getIter(seq)
		if err != nil {
			return nil, false, err
		}
		defer db.putIter(pi)
		var buf [64]byte
		var found bool
		if !inOverlay {
			if cseq, v, found, err = currentEntry(pi.it, buf[:0], userKey); !found {
				return nil, false, err // no version at all
			}
		}
		if cseq > seq {
			// Changed after the snapshot: the version seq sees, if any.
			if _, v, found, err = seekVersion(pi.it, appendVersion(buf[:0], userKey, seq), userKey); !found {
				return nil, false, err
			}
		}
	}
	if len(v) == 0 || v[0] == valTombstone {
		return nil, false, nil
	}
	return bytes.Clone(v[1:]), true, nil
}

// seekVersion seeks it (an iterator over the versioned keyspaces) to
// vkey, userKey's versioned key at some sequence, and returns what it
// finds there: userKey's newest version at or before that sequence, if
// it has one. Versions sort newest first, and no stored user key has
// another as a prefix (keys.go).
func seekVersion(it *pebble.Iterator, vkey, userKey []byte) (seq uint64, version []byte, found bool, err error) {
	if !it.SeekGE(vkey) {
		return 0, nil, false, it.Error()
	}
	u, seq, ok := splitVersion(it.Key())
	if !ok || !bytes.Equal(u, userKey) {
		return 0, nil, false, nil
	}
	return seq, it.Value(), true, nil
}

// NewestSeq returns the sequence of userKey's newest committed version
// (a deletion included); ok is false when it has none.
func (db *DB) NewestSeq(userKey []byte) (seq uint64, ok bool, err error) {
	if db.closed.Load() {
		return 0, false, ErrClosed
	}
	if e, ok, complete := db.ov.get(userKey); ok || complete {
		return e.seq, ok, nil
	}
	pi, err := db.getIter(db.visible.Load())
	if err != nil {
		return 0, false, err
	}
	defer db.putIter(pi)
	var buf [64]byte
	seq, _, ok, err = currentEntry(pi.it, buf[:0], userKey)
	return seq, ok, err
}

// Iter walks the newest visible version of each user key in [lo, hi) as of
// a sequence number, skipping deleted keys. It reads the current entries
// (pebble's current keyspace under the overlay: curIter) and, for a key
// changed after its sequence, the version its sequence sees. Key and
// Value are valid until the next positioning call.
type Iter struct {
	db    *DB
	cur   curIter
	hist  *pebble.Iterator // versioned keyspace, opened on first need
	seq   uint64
	key   []byte
	value []byte
	valid bool
	err   error
	seek  []byte // scratch: a versioned key
}

// NewIter returns an iterator over user keys in [lo, hi) as of seq.
func (db *DB) NewIter(lo, hi []byte, seq uint64) (*Iter, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	i := &Iter{db: db, seq: seq}
	if err := db.openCurIter(&i.cur, lo, hi, true); err != nil {
		return nil, err
	}
	return i, nil
}

// First positions at the first visible key.
func (i *Iter) First() bool { return i.settle(i.cur.first()) }

// SeekGE positions at the first visible key >= userKey.
func (i *Iter) SeekGE(userKey []byte) bool { return i.settle(i.cur.seekGE(userKey)) }

// Next moves to the next visible key.
func (i *Iter) Next() bool {
	if !i.valid {
		return false
	}
	return i.settle(i.cur.next())
}

// Valid reports whether the iterator is positioned at a key.
func (i *Iter) Valid() bool { return i.valid }

// Key returns the user key the iterator is at.
func (i *Iter) Key() []byte { return i.key }

// Value returns the value the iterator is at.
func (i *Iter) Value() []byte { return i.value }

// Error returns the first error met.
func (i *Iter) Error() error {
	if i.err != nil {
		return i.err
	}
	return i.cur.error()
}

// Close releases the iterator.
func (i *Iter) Close() error {
	err := i.cur.close()
	if i.hist != nil {
		if herr := i.hist.Close(); err == nil {
			err = herr
		}
	}
	return err
}

// settle moves forward from the current position to the first user key
// that has a live version at or before seq.
func (i *Iter) settle(ok bool) bool {
	for ; ok; ok = i.cur.next() {
		u, v := i.cur.key, i.cur.version
		if i.cur.seq > i.seq {
			var found bool
			if v, found = i.versionAt(u); !found {
				if i.err != nil {
					break
				}
				continue
			}
		}
		if len(v) == 0 || v[0] == valTombstone {
			continue
		}
		i.key = u
		i.value = v[1:]
		i.valid = true
		return true
	}
	i.valid = false
	return false
}

// versionAt returns the version of userKey that seq sees, for a key whose
// newest version is newer than seq.
func (i *Iter) versionAt(userKey []byte) ([]byte, bool) {
	if i.hist == nil {
		h, err := i.db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixIndex}, UpperBound: []byte{prefixTable + 1}})
		if err != nil {
			i.err = err
			return nil, false
		}
		i.hist = h
	}
	i.seek = appendVersion(i.seek[:0], userKey, i.seq)
	_, v, found, err := seekVersion(i.hist, i.seek, userKey)
	if err != nil {
		i.err = err
	}
	return v, found
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
