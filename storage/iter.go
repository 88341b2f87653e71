package storage

import (
	"bytes"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tidwall/btree"
)

// Get returns the value of userKey as of seq. ok is false when the key has
// no version at or before seq, or that version is a deletion.
func (db *DB) Get(userKey []byte, seq uint64) (value []byte, ok bool, err error) {
	if db.closed.Load() {
		return nil, false, ErrClosed
	}
	// The overlay first, then an iterator drawn after it (overlay.go).
	e, inOverlay := db.ov.get(userKey)
	if inOverlay && e.seq <= seq {
		if len(e.version) == 0 || e.version[0] == valTombstone {
			return nil, false, nil
		}
		return bytes.Clone(e.version[1:]), true, nil
	}
	pi, err := db.getIter(seq)
	if err != nil {
		return nil, false, err
	}
	defer db.putIter(pi)
	var buf [64]byte
	var (
		cseq  uint64
		v     []byte
		found = inOverlay
	)
	if inOverlay {
		cseq, v = e.seq, e.version
	} else if cseq, v, found, err = currentEntry(pi.it, buf[:0], userKey); !found {
		return nil, false, err // no version at all
	}
	if cseq > seq {
		// Changed after the snapshot: versions sort newest first, so the
		// first key at or after (userKey, seq) is userKey's newest version
		// at or before seq, if it has one. (No stored user key has another
		// as a prefix: see keys.go.)
		if !pi.it.SeekGE(appendVersion(buf[:0], userKey, seq)) {
			return nil, false, pi.it.Error()
		}
		u, _, vok := splitVersion(pi.it.Key())
		if !vok || string(u) != string(userKey) {
			return nil, false, nil
		}
		v = pi.it.Value()
	}
	if len(v) == 0 || v[0] == valTombstone {
		return nil, false, nil
	}
	return bytes.Clone(v[1:]), true, nil
}

// NewestSeq returns the sequence of userKey's newest committed version
// (a deletion included); ok is false when it has none.
func (db *DB) NewestSeq(userKey []byte) (seq uint64, ok bool, err error) {
	if db.closed.Load() {
		return 0, false, ErrClosed
	}
	if e, ok := db.ov.get(userKey); ok {
		return e.seq, true, nil
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

// currentEntry seeks it (an iterator without bounds) to userKey's current
// entry and returns its sequence and stored version; found is false when
// the key has none. buf is scratch for the entry's key.
func currentEntry(it *pebble.Iterator, buf, userKey []byte) (seq uint64, version []byte, found bool, err error) {
	ck := appendCurrentKey(buf, userKey)
	if !it.SeekGE(ck) || !bytes.Equal(it.Key(), ck) {
		return 0, nil, false, it.Error()
	}
	seq, version, ok := splitCurrent(it.Value())
	if !ok {
		return 0, nil, false, fmt.Errorf("storage: malformed current entry of key %x", userKey)
	}
	return seq, version, true, nil
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
	if err := db.openCurIter(&i.cur, lo, hi); err != nil {
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

// curIter walks the current entries of the user keys in [lo, hi): the
// overlay's (active, then frozen) over pebble's current keyspace, the
// newest source winning for a key present in several. key and version
// are valid until the next move.
type curIter struct {
	it         *pebble.Iterator // current keyspace within the bounds
	lo, hi     []byte           // user-key bounds (hi nil: none)
	act, frz   btree.IterG[ovItem]
	hasA, hasF bool
	aOK, fOK   bool
	pOK        bool
	seek       []byte // scratch: a current key
	err        error

	key     []byte
	seq     uint64
	version []byte
}

// openCurIter opens c over [lo, hi). The overlay is read before the
// pebble iterator is created (overlay.go).
func (db *DB) openCurIter(c *curIter, lo, hi []byte) error {
	active, frozen := db.ov.view()
	clo, chi := currentBounds(lo, hi)
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: clo, UpperBound: chi})
	if err != nil {
		return err
	}
	c.it, c.lo, c.hi = it, lo, hi
	if active != nil {
		c.act, c.hasA = active.Iter(), true
	}
	if frozen != nil {
		c.frz, c.hasF = frozen.Iter(), true
	}
	return nil
}

func (c *curIter) first() bool { return c.seekGE(c.lo) }

func (c *curIter) seekGE(k []byte) bool {
	if bytes.Compare(k, c.lo) < 0 {
		k = c.lo
	}
	c.seek = appendCurrentKey(c.seek[:0], k)
	c.pOK = c.it.SeekGE(c.seek)
	pe := curEntry{key: k}
	probe := makeItem(&pe)
	if c.hasA {
		c.aOK = c.inBounds(&c.act, c.act.Seek(probe))
	}
	if c.hasF {
		c.fOK = c.inBounds(&c.frz, c.frz.Seek(probe))
	}
	return c.pick()
}

func (c *curIter) inBounds(t *btree.IterG[ovItem], ok bool) bool {
	return ok && (c.hi == nil || bytes.Compare(t.Item().e.key, c.hi) < 0)
}

// next moves every source past the current key.
func (c *curIter) next() bool {
	k := c.key
	if c.aOK && bytes.Equal(c.act.Item().e.key, k) {
		c.aOK = c.inBounds(&c.act, c.act.Next())
	}
	if c.fOK && bytes.Equal(c.frz.Item().e.key, k) {
		c.fOK = c.inBounds(&c.frz, c.frz.Next())
	}
	// Last: k may be pebble's memory.
	if c.pOK && bytes.Equal(c.it.Key()[1:], k) {
		c.pOK = c.it.Next()
	}
	return c.pick()
}

// pick positions at the smallest key among the sources.
func (c *curIter) pick() bool {
	var e *curEntry
	if c.aOK {
		e = c.act.Item().e
	}
	if c.fOK {
		if f := c.frz.Item().e; e == nil || bytes.Compare(f.key, e.key) < 0 {
			e = f
		}
	}
	if c.pOK {
		pk := c.it.Key()[1:]
		if e == nil || bytes.Compare(pk, e.key) < 0 {
			seq, version, ok := splitCurrent(c.it.Value())
			if !ok {
				c.err = fmt.Errorf("storage: malformed current entry %x", c.it.Key())
				c.pOK, c.aOK, c.fOK = false, false, false
				return false
			}
			c.key, c.seq, c.version = pk, seq, version
			return true
		}
	}
	if e == nil {
		return false
	}
	c.key, c.seq, c.version = e.key, e.seq, e.version
	return true
}

func (c *curIter) error() error {
	if c.err != nil {
		return c.err
	}
	return c.it.Error()
}

func (c *curIter) close() error {
	if c.hasA {
		c.act.Release()
	}
	if c.hasF {
		c.frz.Release()
	}
	return c.it.Close()
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
	if !i.hist.SeekGE(i.seek) {
		i.err = i.hist.Error()
		return nil, false
	}
	u, _, ok := splitVersion(i.hist.Key())
	if !ok || !bytes.Equal(u, userKey) {
		return nil, false
	}
	return i.hist.Value(), true
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
