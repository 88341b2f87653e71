package storage

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Snapshots of the whole store, for replication: a node that lags behind
// the replicated log's retained entries receives a checkpoint of a peer's
// store and restores it in place of its own.

// everything bounds every key the store holds (all keyspace prefixes are
// ASCII letters).
var everythingLo, everythingHi = []byte{0x00}, []byte{0xff}

// Sync makes everything applied so far durable. A replicated node applies
// commits without fsync (its log is the durable record) and calls Sync
// before it lets the log be truncated. On a store without a WAL
// (Config.NoWAL) it flushes the memtable.
func (db *DB) Sync() error {
	if db.closed.Load() {
		return ErrClosed
	}
	return db.syncApplied()
}

// syncApplied is Sync without the check for a closed store (Close's last
// checkpoint calls it).
func (db *DB) syncApplied() error {
	if db.cfg.NoWAL {
		return db.pdb.Flush()
	}
	return db.pdb.LogData(nil, pebble.Sync)
}

// applyDurable applies b durably: with an fsync of the WAL or, on a store
// without one (Config.NoWAL), by flushing the memtable.
func (db *DB) applyDurable(b *pebble.Batch) error {
	if !db.cfg.NoWAL {
		return db.pdb.Apply(b, pebble.Sync)
	}
	if err := db.pdb.Apply(b, pebble.NoSync); err != nil {
		return err
	}
	return db.pdb.Flush()
}

// syncWrite applies b durably (applyDurable) and closes it.
func (db *DB) syncWrite(b *pebble.Batch) error {
	err := db.applyDurable(b)
	b.Close()
	return err
}

// Checkpoint writes a consistent, durable copy of the store to dir (which
// must not exist), sharing immutable files by hard links where it can. It
// returns the replicated index and sequence the copy holds.
func (db *DB) Checkpoint(dir string) (raftIndex, seq uint64, err error) {
	// Hold applyMu so the copy and the indexes agree.
	db.applyMu.Lock()
	defer db.applyMu.Unlock()
	if db.closed.Load() {
		return 0, 0, ErrClosed
	}
	if db.cfg.NoWAL {
		// A checkpoint holds the sstables and the WAL: without a WAL,
		// the memtable's commits reach it only flushed. Sync before
		// Checkpoint (as replication's snapshot does) leaves little to
		// flush here, under applyMu.
		if err := db.pdb.Flush(); err != nil {
			return 0, 0, fmt.Errorf("storage: checkpoint: %w", err)
		}
	}
	if err := db.pdb.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return 0, 0, fmt.Errorf("storage: checkpoint: %w", err)
	}
	return db.raftIndex.Load(), db.applied.Load(), nil
}

// Restore replaces the store's whole contents with the store in dir (a
// Checkpoint, typically received from a peer). It is not atomic on disk:
// a marker written first and removed by the last write makes Open wipe a
// store whose restore was interrupted, so that replication restores it
// again. Snapshots open during a restore see it half done; replication
// only restores a node that is far behind and serves no writes.
func (db *DB) Restore(dir string) error {
	src, err := pebble.Open(dir, &pebble.Options{ReadOnly: true, Logger: pebbleLogger{db.log}})
	if err != nil {
		return fmt.Errorf("storage: open snapshot: %w", err)
	}
	defer src.Close()
	it, err := src.NewIter(nil)
	if err != nil {
		return err
	}
	defer it.Close()
	if ok := it.SeekGE(metaRestoringKey); ok && string(it.Key()) == string(metaRestoringKey) {
		return errors.New("storage: the snapshot is itself an interrupted restore")
	}

	// A running current-keyspace checkpoint (overlay.go) must not land
	// on the restored store.
	db.ckptMu.Lock()
	defer db.ckptMu.Unlock()
	db.applyMu.Lock()
	defer db.applyMu.Unlock()
	if db.closed.Load() {
		return ErrClosed
	}
	// Pooled point-read iterators and remembered commits describe the
	// store being replaced.
	db.drainIters(false)
	defer db.drainIters(false)
	db.recent.reset()
	// First empty the store and leave the marker, durably.
	b := db.pdb.NewBatch()
	if err := b.DeleteRange(everythingLo, everythingHi, nil); err != nil {
		b.Close()
		return err
	}
	if err := b.Set(metaRestoringKey, nil, nil); err != nil {
		b.Close()
		return err
	}
	if err := db.syncWrite(b); err != nil {
		return err
	}
	// Then copy the snapshot in batches of about 8 MiB; the last one
	// removes the marker and is synced.
	b = db.pdb.NewBatch()
	for ok := it.First(); ok; ok = it.Next() {
		if err := b.Set(it.Key(), it.Value(), nil); err != nil {
			b.Close()
			return err
		}
		if b.Len() >= 8<<20 {
			if err := db.commitBatch(b, pebble.NoSync); err != nil {
				return err
			}
			b = db.pdb.NewBatch()
		}
	}
	if err := it.Error(); err != nil {
		b.Close()
		return fmt.Errorf("storage: read snapshot: %w", err)
	}
	if err := b.Delete(metaRestoringKey, nil); err != nil {
		b.Close()
		return err
	}
	if err := db.syncWrite(b); err != nil {
		return err
	}
	if err := db.checkFormat(); err != nil {
		return err
	}
	return db.loadState()
}

// commitBatch applies b and closes it.
func (db *DB) commitBatch(b *pebble.Batch, opts *pebble.WriteOptions) error {
	err := db.pdb.Apply(b, opts)
	b.Close()
	return err
}

// wipeIncompleteRestore empties a store whose Restore was interrupted.
func (db *DB) wipeIncompleteRestore() error {
	_, closer, err := db.pdb.Get(metaRestoringKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	closer.Close()
	db.log.Warn("storage: a snapshot restore was interrupted; emptying the store so that replication restores it again")
	b := db.pdb.NewBatch()
	if err := b.DeleteRange(everythingLo, everythingHi, nil); err != nil {
		b.Close()
		return err
	}
	return db.syncWrite(b)
}
