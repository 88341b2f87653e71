package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
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
// checkpoint writes its entries to the current keyspace, deletes the
// dirty-log records they cover and advances metaCurrentKey, in one batch.
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
// lost. The checkpoint batch is not synced: if it is lost, the dirty log
// it would have deleted is still there.
//
// Consistency with pebble iterators: the current keyspace changes only in
// a checkpoint, and a checkpoint drops its frozen generation only after
// its batch is applied, under applyMu, and after draining pooled
// iterators. A reader that looks in the overlay first and then uses a
// pebble iterator created (or drawn from the pool) afterwards therefore
// sees every entry in one place or the other.

// A checkpoint starts when the active overlay's entries (one per key:
// an update replaces the key's entry) pass overlayCheckpointBytes, or
// when overlayCheckpointCommits commits have added to the dirty log since
// the last one, which bounds the log that Open reads after a crash.
const (
	overlayCheckpointBytes   = 32 << 20
	overlayCheckpointCommits = 1 << 20
)

// checkpointBatchBytes is the size of the batches a checkpoint writes.
const checkpointBatchBytes = 1 << 20

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
		if prev, replaced := o.active.Set(items[i]); replaced {
			o.size -= prev.size()
		}
		o.size += items[i].size()
	}
	o.commits++
	o.mu.Unlock()
}

// The dirty log: metaDirtyPrefix + seq → the user keys that the commits
// of the batch ending at seq wrote (each uvarint length-prefixed; one
// record per batch, a group of commits or a raft batch). metaCurrentKey holds the sequence through
// which the current keyspace is complete.
var (
	metaDirtyPrefix = []byte{prefixMeta, 'd'}
	metaCurrentKey  = []byte{prefixMeta, 'c'}
)

// appendDirtyKey appends the dirty-log key of commit seq to dst.
func appendDirtyKey(dst []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, metaDirtyPrefix...), seq)
}

func appendDirtyRecord(dst []byte, ms []Mutation) []byte {
	for i := range ms {
		dst = binary.AppendUvarint(dst, uint64(len(ms[i].Key)))
		dst = append(dst, ms[i].Key...)
	}
	return dst
}

// loadOverlay fills the overlay from pebble (Open, Restore): base with
// pebble's current keyspace when it fits in the row cache, and active
// with the newest version of every key in the dirty log, the current
// entries the last checkpoint did not write.
func (db *DB) loadOverlay() error {
	base, baseSize, err := db.loadBase()
	if err != nil {
		return err
	}
	active, size, err := db.loadDirty()
	if err != nil {
		return err
	}
	// Built aside and swapped in: a restore (Restore) may have readers.
	db.ov.mu.Lock()
	db.ov.active, db.ov.frozen, db.ov.size, db.ov.commits = active, nil, size, 0
	db.ov.base, db.ov.baseSize = base, baseSize
	db.ov.mu.Unlock()
	return nil
}

// loadBase reads pebble's current keyspace into a tree, or returns nil
// when the row cache is off or the entries do not fit in it.
func (db *DB) loadBase() (*overlayTree, int, error) {
	limit := db.rowCacheBytes
	if limit <= 0 || db.cfg.VerifyOnly {
		return nil, 0, nil
	}
	lo, hi := currentBounds(nil, nil)
	// The stored bytes are compressed: more of them than the cache holds
	// is more entries than it holds.
	if est, err := db.pdb.EstimateDiskUsage(lo, hi); err != nil {
		return nil, 0, err
	} else if est > uint64(limit) {
		db.log.Info("storage: the current rows do not fit in the row cache; reads merge pebble's current keyspace", "row_cache_size", limit, "stored_bytes", est)
		return nil, 0, nil
	}
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, 0, err
	}
	defer it.Close()
	tree, size := newOverlayTree(), 0
	for ok := it.First(); ok; ok = it.Next() {
		seq, version, vok := splitCurrent(it.Value())
		if !vok {
			return nil, 0, fmt.Errorf("storage: malformed current entry %x", it.Key())
		}
		item := newItem(it.Key()[1:], seq, version)
		if size += item.size(); size > limit {
			db.log.Info("storage: the current rows do not fit in the row cache; reads merge pebble's current keyspace", "row_cache_size", limit)
			return nil, 0, nil
		}
		tree.Load(item) // in key order: appended to the last leaf
	}
	if err := it.Error(); err != nil {
		return nil, 0, err
	}
	db.log.Debug("storage: row cache loaded", "keys", tree.Len(), "bytes", size)
	return tree, size, nil
}

// loadDirty returns a tree of the newest version of every key in the
// dirty log, and its size.
func (db *DB) loadDirty() (*overlayTree, int, error) {
	tree, size := newOverlayTree(), 0
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: metaDirtyPrefix, UpperBound: PrefixEnd(metaDirtyPrefix)})
	if err != nil {
		return nil, 0, err
	}
	defer it.Close()
	keys := map[string]struct{}{}
	for ok := it.First(); ok; ok = it.Next() {
		rec := it.Value()
		for len(rec) > 0 {
			n, w := binary.Uvarint(rec)
			if w <= 0 || uint64(len(rec)-w) < n {
				return nil, 0, fmt.Errorf("storage: malformed dirty-log record %x", it.Key())
			}
			keys[string(rec[w:w+int(n)])] = struct{}{}
			rec = rec[w+int(n):]
		}
	}
	if err := it.Error(); err != nil {
		return nil, 0, err
	}
	if len(keys) == 0 {
		return tree, 0, nil
	}
	hist, err := db.pdb.NewIter(nil)
	if err != nil {
		return nil, 0, err
	}
	defer hist.Close()
	var seek []byte
	for k := range keys {
		u := []byte(k)
		// Versions sort newest first: the first version at or after
		// (u, newest) is u's newest.
		seek = appendVersion(seek[:0], u, ^uint64(0)>>1)
		seq, v, found, err := seekVersion(hist, seek, u)
		switch {
		case err != nil:
			return nil, 0, fmt.Errorf("storage: dirty-log key %x: %w", u, err)
		case !found && db.cfg.VerifyOnly:
			continue // verification reports the write set it breaks
		case !found:
			return nil, 0, fmt.Errorf("storage: dirty-log key %x has no versions", u)
		}
		it := newItem(u, seq, v)
		tree.Set(it)
		size += it.size()
	}
	db.log.Info("storage: current entries recovered from the dirty log", "keys", len(keys))
	return tree, size, nil
}

// maybeCheckpointCurrent starts a checkpoint of the overlay when it has
// grown past overlayCheckpointBytes and none is running (under applyMu).
func (db *DB) maybeCheckpointCurrent() {
	if (db.ov.size < db.ckptBytes && db.ov.commits < overlayCheckpointCommits) || db.ov.frozen != nil || db.cfg.VerifyOnly {
		return
	}
	db.freezeOverlay()
	through := db.frozenThrough
	db.ckptWG.Add(1)
	go func() {
		defer db.ckptWG.Done()
		start := time.Now()
		if err := db.writeFrozen(true); err != nil {
			db.log.Error("storage: current-keyspace checkpoint failed; the dirty log keeps its entries", "err", err)
			return
		}
		db.log.Debug("storage: current-keyspace checkpoint", "through", through, "took", time.Since(start))
	}()
}

// freezeOverlay makes the active overlay the frozen one (under applyMu,
// with no checkpoint running), recording the sequence it is complete to.
func (db *DB) freezeOverlay() {
	db.ov.mu.Lock()
	db.ov.frozen, db.ov.active, db.ov.size, db.ov.commits = db.ov.active, newOverlayTree(), 0, 0
	db.frozenThrough = db.applied.Load()
	db.ov.mu.Unlock()
}

// writeFrozen writes the frozen overlay to the current keyspace, then
// drops it; with fold, the row cache's next base is the current one with
// the frozen entries added (none if it outgrows the cache).
func (db *DB) writeFrozen(fold bool) error {
	db.ckptMu.Lock()
	defer db.ckptMu.Unlock()
	db.ov.mu.RLock()
	frozen, base, baseSize := db.ov.frozen, db.ov.base, db.ov.baseSize
	db.ov.mu.RUnlock()
	if frozen == nil {
		return nil // a Restore replaced the overlay since it was frozen
	}
	through := db.frozenThrough
	// The entries go in batches of about checkpointBatchBytes: one batch
	// of the whole overlay would hold the commit pipeline (and every
	// commit behind it) while pebble writes it. Only the last batch, with
	// the dirty log's deletion, makes the checkpoint count; until then a
	// crash leaves current entries that the dirty log's versions
	// override, as readers' overlay overrides them now.
	b := db.pdb.NewBatch()
	var key, val []byte
	var err error
	frozen.Scan(func(it ovItem) bool {
		e := it.entry()
		key = appendCurrentKey(key[:0], e.key)
		val = binary.BigEndian.AppendUint64(val[:0], e.seq)
		val = append(val, e.version...)
		if err = b.Set(key, val, nil); err == nil && b.Len() >= db.ckptBatchBytes {
			err = db.pdb.Apply(b, pebble.NoSync)
			b.Close()
			b = db.pdb.NewBatch()
		}
		return err == nil
	})
	if err == nil {
		err = b.DeleteRange(metaDirtyPrefix, appendDirtyKey(nil, through+1), nil)
	}
	if err == nil {
		err = b.Set(metaCurrentKey, binary.BigEndian.AppendUint64(nil, through), nil)
	}
	if err == nil {
		err = db.pdb.Apply(b, pebble.NoSync)
	}
	b.Close()
	// The next base, built outside the locks: only a checkpoint (which
	// holds ckptMu) changes base, and readers keep the one they hold.
	var next *overlayTree
	nextSize := 0
	if err == nil && fold && base != nil {
		next, nextSize = base.Copy(), baseSize
		frozen.Scan(func(it ovItem) bool {
			if prev, replaced := next.Set(it); replaced {
				nextSize -= prev.size()
			}
			nextSize += it.size()
			return nextSize <= db.rowCacheBytes
		})
		if nextSize > db.rowCacheBytes {
			db.log.Info("storage: the current rows outgrew the row cache; reads merge pebble's current keyspace", "row_cache_size", db.rowCacheBytes)
			next, nextSize = nil, 0
		}
	}
	db.applyMu.Lock()
	defer db.applyMu.Unlock()
	if err != nil {
		// Keep serving from the frozen generation: fold it back under
		// the active one so that a later checkpoint writes it.
		db.ov.mu.Lock()
		frozen.Scan(func(it ovItem) bool {
			if _, ok := db.ov.active.Get(it); !ok {
				db.ov.active.Set(it)
				db.ov.size += it.size()
			}
			return true
		})
		db.ov.frozen = nil
		db.ov.mu.Unlock()
		return err
	}
	db.drainIters(false)
	db.ov.mu.Lock()
	db.ov.frozen = nil
	db.ov.base, db.ov.baseSize = next, nextSize
	db.ov.mu.Unlock()
	return nil
}
