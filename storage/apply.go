package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferdb/coffer/storage/ledger"
)

// ErrConflict reports that a key written (or checked) by a transaction was
// changed by another transaction committed after its read sequence. The
// transaction must be retried from a new snapshot.
var ErrConflict = errors.New("storage: write conflict")

// ConflictError names the key that conflicted.
type ConflictError struct {
	Key      []byte
	ReadSeq  uint64
	Conflict uint64 // sequence of the newer version
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("storage: write conflict on key %x: written at seq %d after read seq %d", e.Key, e.Conflict, e.ReadSeq)
}

func (e *ConflictError) Unwrap() error { return ErrConflict }

// Mutation is one change of a user key.
type Mutation struct {
	Key    []byte
	Value  []byte // ignored when Delete
	Delete bool
}

// WriteSet is everything one transaction changes, plus keys it read whose
// change by a concurrent transaction must abort it (schema descriptors).
type WriteSet struct {
	Mutations []Mutation
	Checks    [][]byte
}

// Empty reports whether the write set changes nothing.
func (ws *WriteSet) Empty() bool { return len(ws.Mutations) == 0 }

// Commit describes the committed transaction to Apply; it goes into the
// ledger entry. Time is chosen by the proposer (the leader, once
// replicated) so that every replica writes the same entry.
type Commit struct {
	Principal string
	Kind      string // ledger.KindData etc.; empty: derived from the write set
	Time      int64  // unix nanoseconds; 0: now
	// RaftIndex is the replicated log index of the commit (0 on a node
	// without replication). It is stored with the commit, so a node
	// replaying its log after a crash skips what it already applied.
	RaftIndex uint64
}

// Value prefixes of stored versions.
const (
	valTombstone = 0x00
	valPresent   = 0x01
)

// Apply is the one deterministic state transition: it checks the write set
// against versions committed after readSeq (first committer wins), then
// writes every mutation at a new sequence number and the new head in one
// pebble batch. It returns once the batch is durable (unless NoSync).
//
// Concurrent Applies are serialized for the check and the batch, but share
// the WAL fsync: pebble groups the syncs of batches queued behind each other.
func (db *DB) Apply(ws *WriteSet, readSeq uint64, c Commit) (uint64, error) {
	if db.closed.Load() {
		return 0, ErrClosed
	}
	// Sorting and hashing the write set need no lock: done before taking
	// the one that serializes commits.
	sortMutations(ws)
	var wsHash ledger.Hash
	if !db.cfg.UnsafeNoLedger {
		wsHash = hashWriteSet(ws)
	}
	b, seq, err := db.applyLocked(ws, readSeq, c, wsHash)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	if !db.cfg.NoSync {
		if err := b.SyncWait(); err != nil {
			return 0, fmt.Errorf("storage: sync commit %d: %w", seq, err)
		}
	}
	db.publish(seq)
	db.noteCommit(seq)
	return seq, nil
}

func (db *DB) applyLocked(ws *WriteSet, readSeq uint64, c Commit, wsHash ledger.Hash) (*pebble.Batch, uint64, error) {
	db.applyMu.Lock()
	defer db.applyMu.Unlock()
	if db.closed.Load() {
		return nil, 0, ErrClosed
	}
	if db.stateErr != nil {
		return nil, 0, fmt.Errorf("storage: opened for verification only: %w", db.stateErr)
	}
	if err := db.checkConflicts(ws, readSeq); err != nil {
		return nil, 0, err
	}
	seq := db.applied.Load() + 1
	b := db.pdb.NewBatch()
	system := false
	var key, val []byte // scratch: the batch copies what it is given
	for i := range ws.Mutations {
		m := &ws.Mutations[i]
		system = system || (len(m.Key) > 0 && m.Key[0] == prefixSystem)
		// The version, and its copy in the current keyspace (current.go).
		key = appendVersion(key[:0], m.Key, seq)
		val = appendCurrentValue(val[:0], seq, m)
		err := b.Set(key, val[currentHeaderLen:], nil)
		if err == nil {
			key = appendCurrentKey(key[:0], m.Key)
			err = b.Set(key, val, nil)
		}
		if err != nil {
			b.Close()
			return nil, 0, err
		}
	}
	if c.Kind == "" {
		c.Kind = ledger.KindData
		if system {
			c.Kind = ledger.KindSchema
		}
	}
	if c.Time == 0 {
		c.Time = time.Now().UnixNano()
	}
	next := db.ledger
	if !db.cfg.UnsafeNoLedger {
		var err error
		if next, err = db.appendEntry(b, wsHash, seq, c); err != nil {
			b.Close()
			return nil, 0, err
		}
	}
	if err := b.Set(metaHeadKey, binary.BigEndian.AppendUint64(nil, seq), nil); err != nil {
		b.Close()
		return nil, 0, err
	}
	if c.RaftIndex > 0 {
		if err := b.Set(metaRaftKey, binary.BigEndian.AppendUint64(nil, c.RaftIndex), nil); err != nil {
			b.Close()
			return nil, 0, err
		}
	}
	var err error
	if db.cfg.NoSync {
		err = db.pdb.Apply(b, pebble.NoSync)
	} else {
		err = db.pdb.ApplyNoSyncWait(b, pebble.Sync)
	}
	if err != nil {
		b.Close()
		return nil, 0, fmt.Errorf("storage: apply commit %d: %w", seq, err)
	}
	db.ledger = next
	db.recent.note(seq, ws)
	db.applied.Store(seq)
	if c.RaftIndex > 0 {
		db.raftIndex.Store(c.RaftIndex)
	}
	if system {
		db.system.Store(seq)
	}
	return b, seq, nil
}

// checkConflicts returns a ConflictError if any written or checked key has
// a version newer than readSeq.
func (db *DB) checkConflicts(ws *WriteSet, readSeq uint64) error {
	applied := db.applied.Load()
	if readSeq >= applied {
		return nil // nothing committed since the snapshot
	}
	// newer returns the newest commit after readSeq that wrote key: from
	// the remembered commits when every one since the snapshot is
	// remembered (recent.go), else from pebble.
	var newer func(key []byte) (uint64, bool)
	if !db.noRecent && db.recent.covers(readSeq, applied) {
		newer = func(key []byte) (uint64, bool) {
			s, found, _ := db.recent.newestWrite(key, readSeq, applied)
			return s, found
		}
	} else {
		it, err := db.pdb.NewIter(nil)
		if err != nil {
			return err
		}
		defer it.Close()
		var ck []byte
		newer = func(key []byte) (uint64, bool) {
			ck = appendCurrentKey(ck[:0], key)
			newest, ok := newestCommit(it, ck)
			return newest, ok && newest > readSeq
		}
	}
	check := func(key []byte) error {
		if s, ok := newer(key); ok {
			return &ConflictError{Key: bytes.Clone(key), ReadSeq: readSeq, Conflict: s}
		}
		return nil
	}
	for _, m := range ws.Mutations {
		if err := check(m.Key); err != nil {
			return err
		}
	}
	for _, k := range ws.Checks {
		if err := check(k); err != nil {
			return err
		}
	}
	return nil
}

// publish makes seq visible to new snapshots. WAL syncs complete in commit
// order, so when seq is durable every earlier sequence is too.
func (db *DB) publish(seq uint64) {
	for {
		cur := db.visible.Load()
		if cur >= seq {
			return
		}
		if db.visible.CompareAndSwap(cur, seq) {
			break
		}
	}
	db.visibleMu.Lock()
	db.visibleCond.Broadcast()
	db.visibleMu.Unlock()
}

// WaitVisible waits until seq is visible to new snapshots, ctx ends or the
// store closes.
func (db *DB) WaitVisible(ctx context.Context, seq uint64) error {
	if db.visible.Load() >= seq {
		return nil
	}
	stop := context.AfterFunc(ctx, func() {
		db.visibleMu.Lock()
		db.visibleCond.Broadcast()
		db.visibleMu.Unlock()
	})
	defer stop()
	db.visibleMu.Lock()
	defer db.visibleMu.Unlock()
	for db.visible.Load() < seq {
		if err := ctx.Err(); err != nil {
			return err
		}
		if db.closed.Load() {
			return ErrClosed
		}
		db.visibleCond.Wait()
	}
	return nil
}
