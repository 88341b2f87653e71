package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"

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
	// Base, when later than the proposal's read sequence, is the sequence
	// the change was computed from: the transaction locked the key's row
	// and read its newest version (sql/txn's row locks). The key conflicts
	// only with commits after Base. 0: the read sequence.
	Base uint64
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
// Concurrent Applies are applied in groups, each as one pebble batch
// (groupcommit.go), and share the WAL fsync: pebble groups the syncs of
// batches queued behind each other.
func (db *DB) Apply(ws *WriteSet, readSeq uint64, c Commit) (uint64, error) {
	if db.closed.Load() {
		return 0, ErrClosed
	}
	return db.applyGrouped(ws, readSeq, c)
}

// Proposal is one transaction handed to ApplyBatch.
type Proposal struct {
	WS      *WriteSet
	ReadSeq uint64
	Commit  Commit
}

// Outcome is what ApplyBatch decided for one Proposal: its sequence, or
// the *ConflictError that rejected it.
type Outcome struct {
	Seq uint64
	Err error
}

// ApplyBatch applies proposals in order, deciding each exactly as Apply
// would after the ones before it, and writes the commits in one pebble
// batch (one WAL write, one memtable insert, one sync). A replica applies
// the transactions of a committed raft batch this way. Conflicts are
// reported per proposal; err is for failures of the store, after which
// nothing of the batch is applied.
func (db *DB) ApplyBatch(ps []Proposal) ([]Outcome, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	hashes := make([]ledger.Hash, len(ps))
	for i := range ps {
		hashes[i] = db.prepareWriteSet(ps[i].WS)
	}
	out := make([]Outcome, len(ps))
	g := &commitGroup{}
	if g.b, g.last, g.err = db.applyLocked(ps, hashes, out); g.err != nil || g.b == nil {
		return out, g.err
	}
	if db.syncGroup(g); g.syncErr != nil {
		return nil, g.syncErr
	}
	return out, nil
}

// prepareWriteSet sorts ws and returns its hash for the ledger entry (zero
// without a ledger). Neither needs a lock: done before taking the one
// that serializes commits.
func (db *DB) prepareWriteSet(ws *WriteSet) ledger.Hash {
	sortMutations(ws)
	if db.cfg.UnsafeNoLedger {
		return ledger.Hash{}
	}
	return hashWriteSet(ws)
}

// applyLocked decides and writes ps under applyMu, filling out; it returns
// the applied batch (nil when every proposal conflicted) and the last
// sequence it holds.
func (db *DB) applyLocked(ps []Proposal, hashes []ledger.Hash, out []Outcome) (*pebble.Batch, uint64, error) {
	db.applyMu.Lock()
	defer db.applyMu.Unlock()
	if db.closed.Load() {
		return nil, 0, ErrClosed
	}
	if db.stateErr != nil {
		return nil, 0, fmt.Errorf("storage: opened for verification only: %w", db.stateErr)
	}
	var (
		b         = &db.sorted // the writes, added to a pebble batch in key order
		wrote     bool         // a commit did not conflict: b holds writes
		state     = db.ledger
		seq       = db.applied.Load()
		raftIndex uint64
		system    bool
		key, val  []byte // scratch: b copies what it is given
		// dirty is the batch's dirty-log record: the keys whose current
		// entries the current keyspace does not have yet (overlay.go).
		dirty []byte
		// batched holds the keys written by the batch's earlier commits,
		// which are not in pebble or in the remembered commits yet.
		batched map[string]uint64
	)
	defer db.sorted.releaseBatched()
	b.reset()
	key, val, dirty = b.scratch[0][:0], b.scratch[1][:0], b.scratch[2][:0]
	for i := range ps {
		p := &ps[i]
		if err := db.checkConflicts(p.WS, p.ReadSeq, batched); err != nil {
			if !errors.Is(err, ErrConflict) {
				return nil, 0, err
			}
			out[i].Err = err
			continue
		}
		wrote = true
		seq++
		out[i].Seq = seq
		c := p.Commit
		sys := false
		for j := range p.WS.Mutations {
			m := &p.WS.Mutations[j]
			sys = sys || (len(m.Key) > 0 && m.Key[0] == prefixSystem)
			// The version; its current entry goes to the overlay
			// (overlay.go) once the batch is applied.
			key = appendVersion(key[:0], m.Key, seq)
			val = appendCurrentValue(val[:0], seq, m)
			b.Set(key, val[currentHeaderLen:])
		}
		dirty = appendDirtyRecord(dirty, p.WS.Mutations)
		system = system || sys
		if c.Kind == "" {
			c.Kind = ledger.KindData
			if sys {
				c.Kind = ledger.KindSchema
			}
		}
		if c.Time == 0 {
			c.Time = time.Now().UnixNano()
		}
		if !db.cfg.UnsafeNoLedger {
			state = appendEntry(b, state, hashes[i], seq, c)
		}
		if c.RaftIndex > 0 {
			raftIndex = c.RaftIndex
		}
		if len(ps) > 1 && i < len(ps)-1 {
			if batched == nil {
				batched = db.sorted.batchedKeys()
			}
			for _, m := range p.WS.Mutations {
				// The key's bytes, not a copy: a proposal's write set
				// is not changed while it is applied, and the map is
				// emptied before applyLocked returns.
				batched[unsafe.String(unsafe.SliceData(m.Key), len(m.Key))] = seq
			}
		}
	}
	if !wrote {
		return nil, 0, nil
	}
	// The record names the head: seq (its key) and the head entry's leaf,
	// which loadLedger checks.
	dirty = appendDirtyTrailer(dirty, state.lastHash, !db.cfg.UnsafeNoLedger)
	b.Set(appendDirtyKey(key[:0], seq), dirty)
	if raftIndex > 0 {
		val = binary.BigEndian.AppendUint64(val[:0], raftIndex)
		b.Set(metaRaftKey, val)
	}
	b.scratch = [3][]byte{key, val, dirty}
	pb := db.pdb.NewBatchWithSize(len(b.buf) + 16*len(b.ents) + 64)
	fail := func(err error) (*pebble.Batch, uint64, error) {
		pb.Close()
		return nil, 0, err
	}
	if err := b.writeTo(pb); err != nil {
		return fail(err)
	}
	var err error
	if db.cfg.NoSync {
		err = db.pdb.Apply(pb, pebble.NoSync)
	} else {
		err = db.pdb.ApplyNoSyncWait(pb, pebble.Sync)
		if len(ps) == 1 && db.commits.unsynced.Load() == 0 {
			// A lone commit: pebble has queued its WAL record and
			// readied the WAL's flush goroutine, which would run only
			// once this goroutine blocks on the sync, after the work
			// below. Yielding lets it start the write now, on this
			// processor, while this goroutine continues on the idle
			// one: at 1 connection of durable inserts, +6% tx/s (5 of 6
			// alternating pairs) and p50 -20 to -40 µs.
			runtime.Gosched()
		}
	}
	if err != nil {
		return fail(fmt.Errorf("storage: apply commit %d: %w", seq, err))
	}
	db.ledger = state
	for i := range ps {
		if out[i].Err == nil {
			db.recent.note(out[i].Seq, ps[i].WS)
			db.ov.put(out[i].Seq, ps[i].WS.Mutations)
		}
	}
	db.applied.Store(seq)
	if raftIndex > 0 {
		db.raftIndex.Store(raftIndex)
	}
	if system {
		db.system.Store(seq)
	}
	// After applied moves: a checkpoint started now is complete through
	// seq (freezeOverlay), whose entries the overlay holds.
	db.maybeCheckpointCurrent()
	return pb, seq, nil
}

// checkConflicts returns a ConflictError if any written or checked key has
// a version newer than readSeq (a written key: newer than its Base, if
// that is later): among batched, the keys written by earlier
// commits of the batch being built (not in pebble yet), or in the store.
func (db *DB) checkConflicts(ws *WriteSet, readSeq uint64, batched map[string]uint64) error {
	applied := db.applied.Load()
	if readSeq >= applied && len(batched) == 0 {
		return nil // nothing committed since the snapshot
	}
	// Whether every commit since the snapshot is remembered (recent.go),
	// asked once: a key's base is never older than the snapshot, so the
	// same answer covers it.
	remembered := !db.noRecent && db.recent.covers(readSeq, applied)
	var it *pebble.Iterator
	defer func() {
		if it != nil {
			it.Close()
		}
	}()
	var ck [64]byte // scratch: a current key
	// check reports a conflict if a commit after from wrote key: one of
	// the batch's earlier commits, else a remembered commit when every one
	// since from is remembered, else pebble's newest version.
	check := func(key []byte, from uint64) error {
		s, ok := batched[string(key)]
		ok = ok && s > from
		switch {
		case ok, from >= applied:
		case remembered || (from > readSeq && !db.noRecent && db.recent.covers(from, applied)):
			s, ok, _ = db.recent.newestWrite(key, from, applied)
		default:
			// A checkpoint drops overlay entries only under applyMu, so
			// a key missing from the overlay has its newest entry in
			// pebble's current keyspace, or none if the overlay is
			// complete.
			if e, found, complete := db.ov.get(key); found || complete {
				s, ok = e.seq, found
			} else {
				var err error
				if it == nil {
					if it, err = db.pdb.NewIter(nil); err != nil {
						return err
					}
				}
				if s, _, ok, err = currentEntry(it, ck[:0], key); err != nil {
					return err
				}
			}
			ok = ok && s > from
		}
		if ok {
			return &ConflictError{Key: bytes.Clone(key), ReadSeq: from, Conflict: s}
		}
		return nil
	}
	for _, m := range ws.Mutations {
		if err := check(m.Key, max(readSeq, m.Base)); err != nil {
			return err
		}
	}
	for _, k := range ws.Checks {
		if err := check(k, readSeq); err != nil {
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
