package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tidwall/btree"
)

// The current keyspace holds, for every versioned user key, a copy of its
// newest version under an unversioned key:
//
//	c<user key>   →   <seq:8><valPresent|valTombstone><value>
//
// Versions are never collected (they are the history), so a table whose
// rows are updated again and again holds many versions per row, and a scan
// of the versioned keyspace steps over all of them. Readers scan the
// current keyspace instead: one entry per row, and only a row changed
// after the reader's snapshot costs a seek into the versioned keyspace for
// the version the snapshot sees. Apply writes the versions; the current
// entries reach this keyspace through the overlay's checkpoints
// (overlay.go), and readers merge the overlay over it. The versioned
// keyspace stays complete (AS OF, history, the
// ledger's write set hashes read it), and verification checks that every
// current entry equals its key's newest version (verify.go). Deleted keys
// keep a tombstone entry, so a reader whose snapshot predates the delete
// finds its way to the version it sees.

const prefixCurrent = 'c'

// currentHeaderLen is the sequence number in front of a current value.
const currentHeaderLen = 8

// appendCurrentKey appends the current-keyspace key of userKey to dst.
func appendCurrentKey(dst, userKey []byte) []byte {
	dst = append(dst, prefixCurrent)
	return append(dst, userKey...)
}

// currentBounds maps user-key bounds [lo, hi) into the current keyspace
// (nil bounds: the whole keyspace).
func currentBounds(lo, hi []byte) (clo, chi []byte) {
	clo = appendCurrentKey(make([]byte, 0, len(lo)+1), lo)
	if hi == nil {
		return clo, []byte{prefixCurrent + 1}
	}
	return clo, appendCurrentKey(make([]byte, 0, len(hi)+1), hi)
}

// splitCurrent returns the sequence and the stored version (tag byte and
// value) of a current entry; ok is false for a malformed one.
func splitCurrent(v []byte) (seq uint64, version []byte, ok bool) {
	if len(v) < currentHeaderLen+1 {
		return 0, nil, false
	}
	return binary.BigEndian.Uint64(v), v[currentHeaderLen:], true
}

// appendCurrentValue appends a current entry's value: seq, tag, value.
func appendCurrentValue(dst []byte, seq uint64, m *Mutation) []byte {
	dst = binary.BigEndian.AppendUint64(dst, seq)
	if m.Delete {
		return append(dst, valTombstone)
	}
	dst = append(dst, valPresent)
	return append(dst, m.Value...)
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

// buildCurrent fills the current keyspace from the versioned keyspaces:
// the upgrade of a format 2 store, whose rows have only versioned keys.
// It may be interrupted and run again: every entry it writes is derived
// from the versioned keys alone.
func (db *DB) buildCurrent() error {
	b := db.pdb.NewBatch()
	var last, val []byte
	n := 0
	for _, space := range versionedSpaces {
		it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{space}, UpperBound: []byte{space + 1}})
		if err != nil {
			b.Close()
			return err
		}
		for ok := it.First(); ok; ok = it.Next() {
			u, seq, vok := splitVersion(it.Key())
			if !vok || (last != nil && bytes.Equal(u, last)) {
				continue // an older version of the key just copied
			}
			last = append(last[:0], u...)
			val = binary.BigEndian.AppendUint64(val[:0], seq)
			val = append(val, it.Value()...)
			if err := b.Set(appendCurrentKey(nil, u), val, nil); err != nil {
				it.Close()
				b.Close()
				return err
			}
			n++
			if b.Len() >= 8<<20 {
				if err := db.commitBatch(b, pebble.NoSync); err != nil {
					it.Close()
					return err
				}
				b = db.pdb.NewBatch()
			}
		}
		err = it.Error()
		it.Close()
		if err != nil {
			b.Close()
			return fmt.Errorf("storage: build current keyspace: %w", err)
		}
	}
	if err := db.syncWrite(b); err != nil {
		return err
	}
	db.log.Info("storage: upgraded the data dir to format 3 (current keyspace)", "keys", n)
	return nil
}

// versionedSpaces are the keyspaces whose keys carry a version suffix, in
// key order.
var versionedSpaces = []byte{prefixIndex, prefixSystem, prefixTable}

// currentChecker walks the current entries of one versioned keyspace
// (pebble's current keyspace under the overlay) in step with
// verification's walk over its versions (hashVersions), checking that the
// first (newest) version of every user key equals its current entry and
// that no current entry lacks versions.
type currentChecker struct {
	c  curIter
	ok bool
}

func (db *DB) newCurrentChecker(space byte) (*currentChecker, error) {
	cc := &currentChecker{}
	// Without the row cache's base: the check is of what pebble holds.
	if err := db.openCurIter(&cc.c, []byte{space}, []byte{space + 1}, false); err != nil {
		return nil, err
	}
	cc.ok = cc.c.first()
	return cc, nil
}

// newest is called with each user key's newest version, in key order.
func (c *currentChecker) newest(u []byte, seq uint64, version []byte) error {
	if c.ok && bytes.Compare(c.c.key, u) < 0 {
		return c.orphan()
	}
	if !c.ok || !bytes.Equal(c.c.key, u) {
		return &VerifyError{Seq: seq, Reason: fmt.Sprintf("key %x has no current entry", u)}
	}
	if c.c.seq != seq || !bytes.Equal(c.c.version, version) {
		return &VerifyError{Seq: seq, Reason: fmt.Sprintf("the current entry of key %x differs from its newest version", u)}
	}
	c.ok = c.c.next()
	return nil
}

// done reports a current entry left over after the last user key.
func (c *currentChecker) done() error {
	defer c.c.close()
	if c.ok {
		return c.orphan()
	}
	return c.c.error()
}

func (c *currentChecker) orphan() error {
	return &VerifyError{Seq: c.c.seq, Reason: fmt.Sprintf("current entry %x has no stored versions", appendCurrentKey(nil, c.c.key))}
}

// curIter walks the current entries of the user keys in [lo, hi): the
// overlay's (active, then frozen, then the row cache's base) over pebble's
// current keyspace, the newest source winning for a key present in
// several. A complete overlay (overlay.go) leaves pebble out. key and
// version are valid until the next move.
type curIter struct {
	it     *pebble.Iterator // current keyspace within the bounds, or nil
	lo, hi []byte           // user-key bounds (hi nil: none)
	trees  [3]btree.IterG[ovItem]
	has    [3]bool // trees[i] is open
	ok     [3]bool // trees[i] is at an item within the bounds
	hiItem ovItem  // hi's probe
	pOK    bool
	seek   []byte // scratch: a current key
	err    error

	key     []byte
	seq     uint64
	version []byte
}

// openCurIter opens c over [lo, hi); withBase false reads pebble's
// current keyspace under active and frozen even when the overlay is
// complete. The overlay is read before the pebble iterator is created
// (overlay.go).
func (db *DB) openCurIter(c *curIter, lo, hi []byte, withBase bool) error {
	v := db.ov.view(withBase)
	if !v.complete {
		clo, chi := currentBounds(lo, hi)
		it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: clo, UpperBound: chi})
		if err != nil {
			return err
		}
		c.it = it
	}
	c.lo, c.hi = lo, hi
	if hi != nil {
		c.hiItem = probeItem(hi)
	}
	for i, t := range v.trees {
		if t != nil {
			c.trees[i], c.has[i] = t.Iter(), true
		}
	}
	return nil
}

func (c *curIter) first() bool { return c.seekGE(c.lo) }

func (c *curIter) seekGE(k []byte) bool {
	if bytes.Compare(k, c.lo) < 0 {
		k = c.lo
	}
	if c.it != nil {
		c.seek = appendCurrentKey(c.seek[:0], k)
		c.pOK = c.it.SeekGE(c.seek)
	}
	probe := probeItem(k)
	for i := range c.trees {
		if c.has[i] {
			c.ok[i] = c.inBounds(&c.trees[i], c.trees[i].Seek(probe))
		}
	}
	return c.pick()
}

// inBounds reports whether a B-tree iterator that moved (ok) is below
// hi, from the items' inline bytes when they decide it.
func (c *curIter) inBounds(t *btree.IterG[ovItem], ok bool) bool {
	if !ok || c.hi == nil {
		return ok
	}
	it := t.Item()
	return compareItems(&it, &c.hiItem) < 0
}

// next moves every source past the current key.
func (c *curIter) next() bool {
	k := c.key
	for i := range c.trees {
		if c.ok[i] && bytes.Equal(c.trees[i].Item().key(), k) {
			c.ok[i] = c.inBounds(&c.trees[i], c.trees[i].Next())
		}
	}
	// Last: k may be pebble's memory.
	if c.pOK && bytes.Equal(c.it.Key()[1:], k) {
		c.pOK = c.it.Next()
	}
	return c.pick()
}

// pick positions at the smallest key among the sources (the newest
// source's entry for a key in several).
func (c *curIter) pick() bool {
	var e *ovItem
	var items [3]ovItem
	for i := range c.trees {
		if !c.ok[i] {
			continue
		}
		if items[i] = c.trees[i].Item(); e == nil || compareItems(&items[i], e) < 0 {
			e = &items[i]
		}
	}
	if c.pOK {
		pk := c.it.Key()[1:]
		if e == nil || bytes.Compare(pk, e.key()) < 0 {
			seq, version, ok := splitCurrent(c.it.Value())
			if !ok {
				c.err = fmt.Errorf("storage: malformed current entry %x", c.it.Key())
				c.pOK, c.ok = false, [3]bool{}
				return false
			}
			c.key, c.seq, c.version = pk, seq, version
			return true
		}
	}
	if e == nil {
		return false
	}
	ce := e.entry()
	c.key, c.seq, c.version = ce.key, ce.seq, ce.version
	return true
}

func (c *curIter) error() error {
	if c.err != nil || c.it == nil {
		return c.err
	}
	return c.it.Error()
}

func (c *curIter) close() error {
	for i := range c.trees {
		if c.has[i] {
			c.trees[i].Release()
		}
	}
	if c.it == nil {
		return nil
	}
	return c.it.Close()
}
