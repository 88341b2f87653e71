package storage

import (
	"bytes"
	"encoding/binary"
	"sync"

	"github.com/tidwall/btree"
)

// The current overlay keeps the current keyspace's newest entries in
// memory and writes them to pebble in checkpoints, not once per commit.
//
// Writing a key's current entry on every commit left pebble's memtable
// holding one internal version of it per update, and every scan stepped
// over all of them: with 64 MiB memtables a sysbench row updated a few
// times a minute had tens of versions, and skipping them (NextPrefix's
// skiplist seeks) was the largest single cost of oltp_read_write. Now a
// commit writes its versions and a dirty-log record (the keys it wrote,
// under its sequence) to pebble, and puts the current entries in the
// overlay. When the overlay grows past overlayCheckpointBytes, a
// checkpoint writes its entries to the current keyspace (a small one in a
// batch, a large one as an ingested sstable once the commits it covers
// are durable: writeCurrent), then deletes the dirty-log records they
// cover and advances metaCurrentKey in one batch.
//
// Readers merge the overlay over pebble's current keyspace (newest wins:
// active, then frozen, then pebble). While the current entries fit in the
// row cache (Config.RowCacheSize), a checkpoint keeps the entries it wrote
// as the overlay's base, a read-only tree of everything pebble's current
// keyspace holds, and readers merge active, frozen and base without
// opening pebble (the overlay is complete). Open loads the base when it
// fits; a checkpoint that would outgrow the cache drops it. After a crash, Open reads the
// dirty log and puts each listed key's newest version back in the
// overlay; the versions are durable with their commits, so nothing is
// lost. The batch that deletes the dirty log is not synced: if it is
// lost, the dirty log it would have deleted is still there.
//
// Consistency with pebble iterators: the current keyspace changes only in
// a checkpoint, and a checkpoint drops its frozen generation only after
// its writes are applied, under applyMu, and after draining pooled
// iterators. A reader that looks in the overlay first and then uses a
// pebble iterator created (or drawn from the pool) afterwards therefore
// sees every entry in one place or the other.

// entryOverhead is what an overlay entry costs beyond its key and
// version: the item, the sequence and its share of the tree's nodes,
// about.
const entryOverhead = 64

func (e curEntry) size() int { return len(e.key) + len(e.version) + entryOverhead }

// curEntry is one key's newest current entry in the overlay, as read
// from its item (the slices are the item's bytes).
type curEntry struct {
	key     []byte // user key
	seq     uint64
	version []byte // tag byte and value, as in a current entry
}

// ovItem is what the overlay's B-tree holds: a key's first 32 bytes
// inline (big-endian, zero-padded) and its entry in one allocation, b:
// the sequence (8 bytes, big-endian), the key, then the version. A search
// compares the inline bytes without following b, a cache miss; a scan
// reaches the sequence, key and version of a row through that one
// pointer. 32 bytes cover a table key with an integer primary key
// (prefix, table id, tag, value: 18 bytes) and an index key over one
// integer column of such a table (31 bytes), whose leading bytes are
// equal for every key with the same indexed value.
type ovItem struct {
	p0, p1, p2, p3 uint64
	b              []byte
	klen           int // the key's length; -1: a probe, b is its key
}

// newItem returns the item of an entry, copying key and the version's
// parts (a tag and a value, or a whole version) into its allocation.
func newItem(key []byte, seq uint64, version ...[]byte) ovItem {
	n := 8 + len(key)
	for _, p := range version {
		n += len(p)
	}
	b := make([]byte, 8, n)
	binary.BigEndian.PutUint64(b, seq)
	b = append(b, key...)
	for _, p := range version {
		b = append(b, p...)
	}
	it := probeItem(key)
	it.b, it.klen = b, len(key)
	return it
}

// The tag bytes of a current entry's version, for newItem.
var (
	tagPresent   = []byte{valPresent}
	tagTombstone = []byte{valTombstone}
)

// probeItem returns an item to search for key with.
func probeItem(key []byte) ovItem {
	var pre [32]byte
	copy(pre[:], key)
	return ovItem{
		p0:   binary.BigEndian.Uint64(pre[:8]),
		p1:   binary.BigEndian.Uint64(pre[8:16]),
		p2:   binary.BigEndian.Uint64(pre[16:24]),
		p3:   binary.BigEndian.Uint64(pre[24:]),
		b:    key,
		klen: -1,
	}
}

func (it ovItem) key() []byte {
	if it.klen < 0 {
		return it.b
	}
	return it.b[8 : 8+it.klen]
}

func (it ovItem) entry() curEntry {
	return curEntry{key: it.b[8 : 8+it.klen], seq: binary.BigEndian.Uint64(it.b), version: it.b[8+it.klen:]}
}

func (it ovItem) size() int { return len(it.b) - 8 + entryOverhead }

// comparePrefix compares the inline bytes of a and b: a nonzero answer
// is their keys' order, zero leaves it to the keys.
func comparePrefix(a, b *ovItem) int {
	switch {
	case a.p0 != b.p0:
		return cmpUint(a.p0, b.p0)
	case a.p1 != b.p1:
		return cmpUint(a.p1, b.p1)
	case a.p2 != b.p2:
		return cmpUint(a.p2, b.p2)
	case a.p3 != b.p3:
		return cmpUint(a.p3, b.p3)
	}
	return 0
}

func cmpUint(x, y uint64) int {
	if x < y {
		return -1
	}
	return 1
}

// compareItems orders items by key.
func compareItems(a, b *ovItem) int {
	if c := comparePrefix(a, b); c != 0 {
		return c
	}
	return bytes.Compare(a.key(), b.key())
}

func lessItem(a, b ovItem) bool { return compareItems(&a, &b) < 0 }

type overlayTree = btree.BTreeG[ovItem]

// overlayDegree keeps nodes small: a scan's copy-on-write copy makes the
// next commit copy the nodes on its path.
const overlayDegree = 32

func newOverlayTree() *overlayTree {
	return btree.NewBTreeGOptions(lessItem, btree.Options{NoLocks: true, Degree: overlayDegree})
}

// overlay holds the current entries not yet in pebble's current keyspace
// (active and frozen) and, while they fit in the row cache, a copy of
// those already there (base).
type overlay struct {
	mu     sync.RWMutex
	active *overlayTree // written by commits (under applyMu)
	frozen *overlayTree // being written by a checkpoint; read-only; or nil
	// base holds every entry of pebble's current keyspace that active and
	// frozen do not override, or is nil. It is never changed once
	// published: a checkpoint builds the next one from a copy. While it is
	// set the overlay is complete, and readers do not read pebble's
	// current keyspace at all.
	base     *overlayTree
	baseSize int
	size     int // bytes of active's entries, about
	// commits counts the commits put since active was last empty.
	commits int
	// hint is where put's last entry went in active (or a tree before
	// it: a hint is only where a search starts). Rows appended in key
	// order (AUTO_INCREMENT keys) land next to it, and the search on
	// each level starts there instead of bisecting (1 connection of
	// durable inserts: the insertion from 1.3 to 0.9 µs a commit, CPU
	// profiles of 10 s).
	hint btree.PathHint
}

func (o *overlay) reset() {
	o.mu.Lock()
	o.active, o.frozen, o.size, o.commits = newOverlayTree(), nil, 0, 0
	o.mu.Unlock()
}

// get returns key's newest overlay entry. complete reports that the
// overlay holds every current entry: a key it lacks has none.
func (o *overlay) get(key []byte) (e curEntry, found, complete bool) {
	probe := probeItem(key)
	o.mu.RLock()
	defer o.mu.RUnlock()
	for _, t := range [...]*overlayTree{o.active, o.frozen, o.base} {
		if t == nil {
			continue
		}
		// A key past a tree's last is not in it: an INSERT's new
		// AUTO_INCREMENT key, whose look-up for a duplicate would
		// otherwise search every tree to the bottom (walking the right
		// edge compares once).
		if last, ok := t.Max(); !ok || compareItems(&probe, &last) > 0 {
			continue
		}
		if it, ok := t.Get(probe); ok {
			return it.entry(), true, true
		}
	}
	return curEntry{}, false, o.base != nil
}

// overlayView is the overlay as a reader saw it: its trees, newest first
// (nil: absent or empty), and whether they hold every current entry.
type overlayView struct {
	trees    [3]*overlayTree // active (a copy-on-write copy), frozen, base
	complete bool
}

// view returns the overlay as it is now, for a scan. withBase false leaves
// base out (verification compares pebble's current keyspace itself).
func (o *overlay) view(withBase bool) overlayView {
	o.mu.Lock()
	defer o.mu.Unlock()
	var v overlayView
	if o.active.Len() > 0 {
		v.trees[0] = o.active.Copy()
	}
	v.trees[1] = o.frozen
	if withBase && o.base != nil {
		v.complete = true
		if o.base.Len() > 0 {
			v.trees[2] = o.base
		}
	}
	return v
}

// put records the current entries of a commit (called under applyMu).
// Each entry gets an allocation of its own: an entry that outlives the
// commit's others (an index tombstone, a cold row) must not keep their
// replaced values alive, which the size accounting would not see.
func (o *overlay) put(seq uint64, ms []Mutation) {
	items := make([]ovItem, len(ms))
	for i := range ms {
		if m := &ms[i]; m.Delete {
			items[i] = newItem(m.Key, seq, tagTombstone)
		} else {
			items[i] = newItem(m.Key, seq, tagPresent, m.Value)
		}
	}
	o.mu.Lock()
	for i := range items {
		if prev, replaced := o.active.SetHint(items[i], &o.hint); replaced {
			o.size -= prev.size()
		}
		o.size += items[i].size()
	}
	o.commits++
	o.mu.Unlock()
}
