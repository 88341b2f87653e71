package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cofferdb/coffer/storage/ledger"
)

// Checkpoints of the current overlay (overlay.go): the dirty log that
// stands for the overlay in pebble until a checkpoint, loading the overlay
// at open (the dirty log and, when it fits, the row cache's base), and
// the checkpoint that writes a frozen generation to the current keyspace.

// A checkpoint starts when the active overlay's entries (one per key:
// an update replaces the key's entry) pass overlayCheckpointBytes, or
// when overlayCheckpointCommits commits have added to the dirty log since
// the last one, which bounds the log that Open reads after a crash.
const (
	overlayCheckpointBytes   = 32 << 20
	overlayCheckpointCommits = 1 << 20
)

// checkpointBatchBytes is the largest checkpoint written as one batch;
// a larger one is written as an sstable and ingested (writeCurrent).
const checkpointBatchBytes = 1 << 20

// checkpointTableName is the file, in the data dir, that a checkpoint
// writes its sstable to before pebble ingests it (pebble links it under
// its own name and removes this one). One checkpoint runs at a time
// (ckptMu); a file left by a crash is overwritten by the next.
const checkpointTableName = "current-checkpoint.sst"

// The dirty log: metaDirtyPrefix + seq → the user keys that the commits
// of the batch ending at seq wrote (each uvarint length-prefixed; one
// record per batch, a group of commits or a raft batch), then since
// format 6 a trailer: the leaf hash of seq's ledger entry and
// dirtyHeadLeaf, or without a ledger dirtyNoLeaf alone. The newest record
// is the head (readHeadRecord): a commit writes no head record of its
// own. metaCurrentKey holds the sequence through which the current
// keyspace is complete; the checkpoint that advances it deletes the
// records it covers and writes the head record (metaHeadKey) as of that
// sequence, which names the head when no record is newer.
var (
	metaDirtyPrefix = []byte{prefixMeta, 'd'}
	metaCurrentKey  = []byte{prefixMeta, 'c'}
)

// appendDirtyKey appends the dirty-log key of commit seq to dst.
func appendDirtyKey(dst []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, metaDirtyPrefix...), seq)
}

// The last byte of a format 6 dirty-log record.
const (
	dirtyNoLeaf   = 0 // no ledger: the keys end the record
	dirtyHeadLeaf = 1 // the keys are followed by the head entry's leaf hash
)

// appendDirtyTrailer ends a dirty-log record (format 6) with the leaf
// hash of its last commit's ledger entry, or with none (no ledger).
func appendDirtyTrailer(dst []byte, leaf ledger.Hash, hasLeaf bool) []byte {
	if !hasLeaf {
		return append(dst, dirtyNoLeaf)
	}
	return append(append(dst, leaf[:]...), dirtyHeadLeaf)
}

// splitDirtyRecord returns a format 6 dirty-log record's keys and its
// leaf hash, if it has one.
func splitDirtyRecord(rec []byte) (keys []byte, leaf ledger.Hash, hasLeaf bool, err error) {
	switch {
	case len(rec) == 0:
	case rec[len(rec)-1] == dirtyNoLeaf:
		return rec[:len(rec)-1], leaf, false, nil
	case rec[len(rec)-1] == dirtyHeadLeaf && len(rec) > len(leaf):
		keys = rec[:len(rec)-1-len(leaf)]
		copy(leaf[:], rec[len(keys):])
		return keys, leaf, true, nil
	}
	return nil, leaf, false, errors.New("storage: malformed dirty-log record trailer")
}

// dirtyLog returns an iterator over the dirty log.
func (db *DB) dirtyLog() (*pebble.Iterator, error) {
	return db.pdb.NewIter(&pebble.IterOptions{LowerBound: metaDirtyPrefix, UpperBound: PrefixEnd(metaDirtyPrefix)})
}

// newestDirtyRecord returns the sequence and the leaf hash the newest
// dirty-log record names (format 6); found is false when the log has no
// record newer than after.
func (db *DB) newestDirtyRecord(after uint64) (seq uint64, leaf ledger.Hash, hasLeaf, found bool, err error) {
	it, err := db.dirtyLog()
	if err != nil {
		return 0, leaf, false, false, err
	}
	defer it.Close()
	if !it.Last() {
		return 0, leaf, false, false, it.Error()
	}
	k := it.Key()
	if len(k) != len(metaDirtyPrefix)+8 {
		return 0, leaf, false, false, fmt.Errorf("storage: malformed dirty-log key %x", k)
	}
	if seq = binary.BigEndian.Uint64(k[len(metaDirtyPrefix):]); seq <= after {
		return 0, leaf, false, false, nil
	}
	if _, leaf, hasLeaf, err = splitDirtyRecord(it.Value()); err != nil {
		return 0, leaf, false, false, fmt.Errorf("%w: %x", err, k)
	}
	return seq, leaf, hasLeaf, true, nil
}

// upgradeDirtyLog ends each dirty-log record of a format 4 or 5 store
// with a trailer and records format 6, in one batch.
func (db *DB) upgradeDirtyLog() error {
	b := db.pdb.NewBatch()
	defer b.Close()
	it, err := db.dirtyLog()
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := b.Set(it.Key(), appendDirtyTrailer(slices.Clone(it.Value()), ledger.Hash{}, false), nil); err != nil {
			it.Close()
			return err
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return err
	}
	if err := b.Set(metaFormatKey, binary.BigEndian.AppendUint32(nil, FormatVersion), nil); err != nil {
		return err
	}
	db.format = FormatVersion
	return db.syncWrite(b)
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
	it, err := db.dirtyLog()
	if err != nil {
		return nil, 0, err
	}
	defer it.Close()
	keys := map[string]struct{}{}
	for ok := it.First(); ok; ok = it.Next() {
		rec := it.Value()
		if db.format >= 6 {
			var err error
			if rec, _, _, err = splitDirtyRecord(rec); err != nil {
				return nil, 0, fmt.Errorf("%w: %x", err, it.Key())
			}
		}
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
	size, commits := db.ckptBytes, overlayCheckpointCommits
	if p := db.ckptPhase; p > 0 {
		size, commits = size+size*p/16, commits+commits*p/16
	}
	if (db.ov.size < size && db.ov.commits < commits) || db.ov.frozen != nil || db.cfg.VerifyOnly {
		return
	}
	db.ckptPhase = 0
	db.freezeOverlay()
	through := db.frozenThrough
	db.ckptWG.Add(1)
	go func() {
		defer db.ckptWG.Done()
		if bg := db.cfg.Background; bg != nil {
			bg(1)
			defer bg(-1)
		}
		start := time.Now()
		if err := db.writeFrozen(true); err != nil {
			db.log.Error("storage: current-keyspace checkpoint failed; the dirty log keeps its entries", "err", err)
			return
		}
		db.ckptsDone.Add(1)
		db.log.Debug("storage: current-keyspace checkpoint", "through", through, "took", time.Since(start))
	}()
}

// freezeOverlay makes the active overlay the frozen one (under applyMu,
// with no checkpoint running), recording the sequence it is complete to
// and its size.
func (db *DB) freezeOverlay() {
	db.ov.mu.Lock()
	db.frozenSize = db.ov.size
	db.ov.frozen, db.ov.active, db.ov.size, db.ov.commits = db.ov.active, newOverlayTree(), 0, 0
	db.frozenThrough, db.frozenLeaf = db.applied.Load(), db.ledger.lastHash
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
	err := db.writeCurrent(frozen, through)
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

// writeCurrent writes the frozen entries, complete through seq through,
// to pebble's current keyspace, deletes the dirty-log records they cover
// and advances metaCurrentKey (with ckptMu held).
//
// A small checkpoint is one batch. A larger one is written as an
// sstable and ingested, then the dirty log's deletion follows in a batch.
// Through the memtable, 32 MiB of current entries (a checkpoint under a
// load of single-row inserts) cost a skiplist insertion each, filled half
// of a 64 MiB memtable and so brought its flush forward, on every node of
// a cluster in the same second (they checkpoint at the same commit); the
// flush then compacted them again into Lbase. Ingested, they skip the
// memtable, and entries for new keys (appends) land in the lowest level
// without being compacted again.
//
// An ingested table is durable when Ingest returns, but the commits whose
// entries it holds might not be: on a store without a WAL they are in the
// memtable until it flushes, and a crash would leave current entries for
// versions that are gone, under sequence numbers that later commits reuse
// (on a single node, where nothing replays them). So the commits are made
// durable first (syncApplied): a WAL fsync, or without a WAL a flush.
func (db *DB) writeCurrent(frozen *overlayTree, through uint64) error {
	b := db.pdb.NewBatch()
	defer b.Close()
	var key, val []byte
	put := func(set func(k, v []byte) error) error {
		var err error
		frozen.Scan(func(it ovItem) bool {
			e := it.entry()
			key = appendCurrentKey(key[:0], e.key)
			val = binary.BigEndian.AppendUint64(val[:0], e.seq)
			val = append(val, e.version...)
			err = set(key, val)
			return err == nil
		})
		return err
	}
	if db.frozenSize > db.ckptBatchBytes {
		if err := db.syncApplied(); err != nil {
			return err
		}
		path := db.popts.FS.PathJoin(db.cfg.Dir, checkpointTableName)
		if err := db.writeTable(path, put); err != nil {
			return err
		}
		// Ingest links the table into pebble and removes path.
		if err := db.pdb.Ingest(context.Background(), []string{path}); err != nil {
			_ = db.popts.FS.Remove(path)
			return fmt.Errorf("storage: ingest current-keyspace checkpoint: %w", err)
		}
	} else if err := put(func(k, v []byte) error { return b.Set(k, v, nil) }); err != nil {
		return err
	}
	if err := b.DeleteRange(metaDirtyPrefix, appendDirtyKey(nil, through+1), nil); err != nil {
		return err
	}
	// The records deleted named the head up to through.
	head := binary.BigEndian.AppendUint64(nil, through)
	if !db.cfg.UnsafeNoLedger && through > 0 {
		head = append(head, db.frozenLeaf[:]...)
	}
	if err := b.Set(metaHeadKey, head, nil); err != nil {
		return err
	}
	if err := b.Set(metaCurrentKey, binary.BigEndian.AppendUint64(nil, through), nil); err != nil {
		return err
	}
	return db.pdb.Apply(b, pebble.NoSync)
}

// writeTable writes an sstable at path (replacing any file there) with
// the entries put gives in key order, with the settings pebble uses for
// Lbase.
func (db *DB) writeTable(path string, put func(set func(k, v []byte) error) error) (err error) {
	f, err := db.popts.FS.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("storage: checkpoint table: %w", err)
	}
	w := sstable.NewWriter(objstorageprovider.NewFileWritable(f), db.popts.MakeWriterOptions(1, db.pdb.TableFormat()))
	if err = put(w.Set); err != nil {
		_ = w.Close()
		_ = db.popts.FS.Remove(path)
		return fmt.Errorf("storage: checkpoint table: %w", err)
	}
	if err = w.Close(); err != nil { // syncs and closes f
		_ = db.popts.FS.Remove(path)
		return fmt.Errorf("storage: checkpoint table: %w", err)
	}
	return nil
}
