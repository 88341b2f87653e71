package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cofferdb/coffer/storage/ledger"
)

// FormatVersion is the on-disk format this build writes. A data dir written
// by a newer format is refused; so is format 1, the development format
// before the ledger, which cannot be verified.
//
//	1  rows, indexes, catalog (no ledger)
//	2  + ledger entries, Merkle nodes, signatures
//	3  + the current keyspace (current.go); a format 2 store is upgraded
//	     on open by copying each key's newest version into it
//	4  + the dirty log (overlay.go): the current keyspace may lag the
//	     versions by the keys it lists; a format 3 store has an empty one
//	5  Merkle nodes below level 3 are no longer stored (recomputed from
//	   the entries: ledger.go, minStoredLevel), and the head record keeps
//	   the head entry's leaf hash; an older store keeps its own low nodes,
//	   unused
//	6  a commit writes no head record: the newest dirty-log record names
//	   the head (its sequence, and the head entry's leaf hash in a
//	   trailer), and checkpoints write the head record as of the sequence
//	   they complete (checkpoint.go); an older store's dirty-log records
//	   get the trailer on open
const FormatVersion = 6

// minFormatVersion is the oldest format this build opens.
const minFormatVersion = 2

var (
	// ErrFormatTooNew is returned by Open for a data dir of a newer format.
	ErrFormatTooNew = errors.New("storage: data dir was written by a newer Coffer format")
	// ErrFormatTooOld is returned by Open for a data dir of a format this
	// build no longer reads.
	ErrFormatTooOld = errors.New("storage: data dir was written by an older Coffer format")
	// ErrClosed is returned by operations on a closed DB.
	ErrClosed = errors.New("storage: closed")
)

var (
	metaFormatKey = []byte{prefixMeta, 'f'}
	metaHeadKey   = []byte{prefixMeta, 'h'}
	// metaRaftKey holds the replicated log index of the last applied
	// commit or signature (replicated nodes only).
	metaRaftKey = []byte{prefixMeta, 'r'}
	// metaRestoringKey marks a snapshot restore in progress: a store
	// opened with it set is half-written and is wiped (see Restore).
	metaRestoringKey = []byte{prefixMeta, 'R'}
)

// Config configures a DB.
type Config struct {
	// Dir is the pebble directory.
	Dir string
	// InMemory keeps everything in memory (tests only): nothing survives Close.
	InMemory bool
	// NoSync skips the WAL fsync on commit (tests and benchmarks that
	// measure something else). Never set in production.
	NoSync bool
	// NoWAL turns pebble's write-ahead log off, for a store whose writes
	// another log already holds: a cluster node's, whose durable record
	// is the raft log. What the memtable holds is lost on a crash; the
	// store is then as of its last flush (a prefix of its commits, since
	// memtables flush in order), and raft applies the entries after its
	// RaftIndex again. Writes that must be durable at once (Sync, a
	// Checkpoint, a Restore, the format record) flush the memtable, and
	// Close flushes it, so a clean restart replays nothing. A cluster
	// node writes each commit to disk twice instead of three times (the
	// raft log, then an sstable); on a 2-core 3-node loopback cluster,
	// 6% more single-row inserts per second on average (6 alternating
	// pairs, p99 lower in 5). NoWAL implies NoSync.
	NoWAL bool
	// UnsafeNoLedger skips ledger entries and Merkle nodes (benchmarks that
	// measure the ledger's cost only). A store written this way does not
	// verify.
	UnsafeNoLedger bool
	// VerifyOnly opens a store for inspection (coffer ledger verify): a
	// ledger whose head cannot be loaded (a corrupt head entry or Merkle
	// frontier) does not fail Open, so verification can name what is
	// wrong; such a store refuses commits. It does not compact in the
	// background either: the store being inspected is not rewritten, and
	// verification does not compete with a freshly stopped node's pending
	// compactions for the CPU.
	VerifyOnly bool
	// CacheSize is pebble's block cache size in bytes.
	CacheSize int64
	// MemTableSize is the size of pebble's memtable in bytes (0: pebble's
	// default, 4 MiB). Every commit writes its rows twice (versioned and
	// current keys) plus a ledger entry and Merkle nodes; with 4 MiB
	// memtables a node taking 10k inserts/s flushed every second and spent a
	// quarter of its CPU compacting the small L0 files.
	MemTableSize uint64
	// RowCacheSize bounds the row cache (0: DefaultRowCacheSize; negative:
	// none): while the current entries (the newest version of every row
	// and index entry) fit in it, they are all kept in memory and reads
	// never merge pebble's current keyspace (overlay.go).
	RowCacheSize int64
	// MinFreeBytes is the free space below which commits are refused with
	// ErrDiskFull (0: DefaultMinFreeBytes; negative: never).
	MinFreeBytes int64
	// FreeSpace, if set, replaces the filesystem's free-space reading
	// (tests; read on every check).
	FreeSpace func() (uint64, error)
	// Logger receives storage events.
	Logger *slog.Logger
	// fs replaces the filesystem (tests: a crashable in-memory one).
	fs vfs.FS
	// CheckpointPhase (0 to 15) holds the first current-keyspace
	// checkpoint after Open back by that many sixteenths of the
	// checkpoint threshold (overlayCheckpointBytes and ...Commits); later
	// ones come at the usual distance, so the delay stays. Cluster nodes
	// apply the same commits, so their overlays reach the threshold at
	// the same entry; on a store without a WAL a checkpoint flushes the
	// memtable, and all nodes flushing at once stalled a 3-node cluster
	// for about half a second every 30 s (server/cluster.Stagger).
	CheckpointPhase int
	// Background, if set, is told when a flush, a compaction or a
	// current-keyspace checkpoint starts (+1) and ends (-1) (the server's
	// GOMAXPROCS governor).
	Background func(delta int)
	// InlineWALWrites, if set, reports whether a synced WAL write may
	// keep its goroutine's P while the device works (walfs_direct.go,
	// "Inline writes"): true only while the process runs on one P for
	// one client (the server's GOMAXPROCS governor).
	InlineWALWrites func() bool
}

// DefaultMemTableSize is DefaultConfig's MemTableSize.
const DefaultMemTableSize = 64 << 20

// DefaultRowCacheSize is Config's RowCacheSize when it is 0.
const DefaultRowCacheSize = 256 << 20

// DefaultConfig returns a Config for dir with sensible defaults.
func DefaultConfig(dir string) Config {
	return Config{Dir: dir, CacheSize: 256 << 20, MemTableSize: DefaultMemTableSize, Logger: slog.Default()}
}

// Validate reports a configuration error.
func (c *Config) Validate() error {
	if c.Dir == "" && !c.InMemory {
		return errors.New("storage: Dir is required")
	}
	if c.CacheSize < 0 {
		return errors.New("storage: CacheSize must not be negative")
	}
	if c.CheckpointPhase < 0 || c.CheckpointPhase > 15 {
		return fmt.Errorf("storage: CheckpointPhase %d: want 0 to 15", c.CheckpointPhase)
	}
	return nil
}

// DB is Coffer's multi-version store on pebble.
type DB struct {
	cfg    Config
	pdb    *pebble.DB
	log    *slog.Logger
	stalls *WriteStalls  // pebble's write stalls (EventListener)
	inline *inlineWrites // nil: no inline WAL writes (walfs_direct.go)

	applyMu sync.Mutex    // serializes Apply: conflict check, sequence, batch
	applied atomic.Uint64 // last sequence written to pebble
	visible atomic.Uint64 // last sequence durable and visible to readers
	system  atomic.Uint64 // last sequence that changed the system keyspace
	closed  atomic.Bool
	// raftIndex is the replicated log index of the last applied commit.
	raftIndex atomic.Uint64

	// visibleMu/visibleCond wake WaitVisible callers when visible grows.
	visibleMu   sync.Mutex
	visibleCond *sync.Cond

	sigMu   sync.Mutex
	sigCond *sync.Cond
	signed  uint64 // size of the newest stored signature, guarded by sigMu

	ledger ledgerState // guarded by applyMu
	sorted sortedBatch // guarded by applyMu: a group's writes (sortedbatch.go)
	// signer is set by StartSigner, which a replicated node calls while
	// raft already applies commits (noteCommit reads it).
	signer atomic.Pointer[signer]
	// stateErr is why the ledger head did not load (VerifyOnly stores
	// only); commits are refused while it is set.
	stateErr error

	iters   iterPool    // for Get (getpool.go)
	commits commitQueue // Apply's group commit (groupcommit.go)
	// ov holds the current entries not yet in pebble (overlay.go);
	// frozenThrough is the sequence its frozen generation is complete to
	// (set under applyMu when it is frozen). ckptMu is held by a running
	// checkpoint and by Restore; ckptWG counts checkpoint goroutines.
	ov             overlay
	frozenThrough  uint64
	frozenLeaf     ledger.Hash // the leaf hash of frozenThrough's entry
	frozenSize     int         // the frozen generation's entries, in overlay bytes
	ckptMu         sync.Mutex
	ckptWG         sync.WaitGroup
	ckptsDone      atomic.Int64    // checkpoints written (by maybeCheckpointCurrent)
	ckptBytes      int             // overlayCheckpointBytes; smaller in tests
	ckptBatchBytes int             // checkpointBatchBytes; smaller in tests
	ckptPhase      int             // Config.CheckpointPhase until the first checkpoint, then 0
	popts          *pebble.Options // pebble's options: its filesystem, its sstables' settings
	rowCacheBytes  int             // the overlay's base may hold this much (0: none)
	space          spaceGuard      // for CheckSpace (space.go)
	// recent remembers the keys of the last commits for the conflict
	// check (recent.go), guarded by applyMu; noRecent turns it off (tests).
	recent   recentWrites
	noRecent bool
	// format2 is set on a format 2 store opened for verification only: it
	// has no current keyspace to check.
	format2 bool
	// format is the store's format version, as checkFormat left it.
	format uint32
}

// Open opens or creates the store described by cfg.
func Open(cfg Config) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	opts := &pebble.Options{Logger: pebbleLogger{cfg.Logger}}
	if cfg.CacheSize > 0 {
		c := pebble.NewCache(cfg.CacheSize)
		defer c.Unref()
		opts.Cache = c
	}
	cfg.NoSync = cfg.NoSync || cfg.NoWAL
	opts.DisableWAL = cfg.NoWAL
	var inline *inlineWrites
	switch {
	case cfg.fs != nil:
		opts.FS = cfg.fs
	case cfg.InMemory:
		opts.FS = vfs.NewMem()
	case cfg.NoSync:
		opts.FS = bufferedWALFS(vfs.Default)
	default:
		if cfg.InlineWALWrites != nil {
			inline = &inlineWrites{allow: cfg.InlineWALWrites}
		}
		opts.FS = walFS{FS: vfs.Default, direct: true, inline: inline}
	}
	opts.MemTableSize = cfg.MemTableSize
	SetLevelCompression(opts)
	opts.Experimental.SpanPolicyFunc = spanPolicy
	stalls := &WriteStalls{}
	opts.EventListener = EventListener(cfg.Logger, "data", stalls)
	if cfg.Background != nil {
		countBackground(opts.EventListener, cfg.Background)
	}
	opts.DisableAutomaticCompactions = cfg.VerifyOnly
	opts.EnsureDefaults()
	pdb, err := pebble.Open(cfg.Dir, opts)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", cfg.Dir, err)
	}
	db := &DB{cfg: cfg, pdb: pdb, popts: opts, log: cfg.Logger, stalls: stalls, inline: inline}
	db.ov.reset()
	db.ckptBytes, db.ckptBatchBytes = overlayCheckpointBytes, checkpointBatchBytes
	db.ckptPhase = cfg.CheckpointPhase
	switch {
	case cfg.RowCacheSize == 0:
		db.rowCacheBytes = DefaultRowCacheSize
	case cfg.RowCacheSize > 0:
		db.rowCacheBytes = int(cfg.RowCacheSize)
	}
	db.visibleCond = sync.NewCond(&db.visibleMu)
	db.sigCond = sync.NewCond(&db.sigMu)
	if err := db.wipeIncompleteRestore(); err != nil {
		_ = pdb.Close()
		return nil, err
	}
	if err := db.checkFormat(); err != nil {
		_ = pdb.Close()
		return nil, err
	}
	if err := db.loadState(); err != nil {
		if !cfg.VerifyOnly {
			_ = pdb.Close()
			return nil, err
		}
		db.stateErr = err
		db.log.Warn("storage: the ledger head did not load; the store is open for verification only", "err", err)
	}
	return db, nil
}

// loadState reads the head, the replicated index, the ledger frontier and
// the newest signature into memory (after Open and after Restore).
func (db *DB) loadState() error {
	head, err := db.readHead()
	if err != nil {
		return err
	}
	ri, err := db.readUint64(metaRaftKey)
	if err != nil {
		return err
	}
	signed, err := db.newestSignatureSize()
	if err != nil {
		return err
	}
	db.sigMu.Lock()
	db.signed = signed
	db.sigCond.Broadcast()
	db.sigMu.Unlock()
	if err := db.loadOverlay(); err != nil {
		return err
	}
	db.raftIndex.Store(ri)
	db.applied.Store(head)
	db.system.Store(head)
	db.visible.Store(head)
	db.visibleMu.Lock()
	db.visibleCond.Broadcast()
	db.visibleMu.Unlock()
	return db.loadLedger(head)
}

func (db *DB) checkFormat() error {
	v, closer, err := db.pdb.Get(metaFormatKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return db.setFormat()
	}
	if err != nil {
		return fmt.Errorf("storage: read format version: %w", err)
	}
	if len(v) != 4 {
		closer.Close()
		return fmt.Errorf("storage: corrupt format version record (%d bytes)", len(v))
	}
	got := binary.BigEndian.Uint32(v)
	closer.Close()
	db.format = got
	if got > FormatVersion {
		return fmt.Errorf("%w: data dir format %d, this build reads up to %d; upgrade coffer", ErrFormatTooNew, got, FormatVersion)
	}
	if got < minFormatVersion {
		return fmt.Errorf("%w: data dir format %d has no ledger; this build reads formats %d to %d; export the data with an older build and load it into a new data dir", ErrFormatTooOld, got, minFormatVersion, FormatVersion)
	}
	if got == 2 {
		if db.cfg.VerifyOnly {
			// Verification reads only the ledger and the versions; a
			// copied data dir is not changed by it.
			db.format2 = true
			return nil
		}
		if err := db.buildCurrent(); err != nil {
			return err
		}
		return db.setFormat()
	}
	if got < FormatVersion && !db.cfg.VerifyOnly {
		// Format 3: the dirty log starts empty. Formats 4 and 5: its
		// records get the trailer, naming no leaf (the head record
		// written with them is current).
		return db.upgradeDirtyLog()
	}
	return nil
}

// setFormat records that the store is in this build's format.
func (db *DB) setFormat() error {
	db.format = FormatVersion
	b := db.pdb.NewBatch()
	if err := b.Set(metaFormatKey, binary.BigEndian.AppendUint32(nil, FormatVersion), nil); err != nil {
		b.Close()
		return err
	}
	return db.syncWrite(b)
}

// readHead returns the newest sequence the head record names.
func (db *DB) readHead() (uint64, error) {
	seq, _, _, err := db.readHeadRecord()
	return seq, err
}

// readHeadRecord returns the head: the newest sequence and, since format
// 5 (with a ledger), the leaf hash of its ledger entry. Since format 6
// the newest dirty-log record names it, unless there is none newer than
// the head record (checkpoint.go).
func (db *DB) readHeadRecord() (seq uint64, leaf ledger.Hash, hasLeaf bool, err error) {
	if seq, leaf, hasLeaf, err = db.readHeadKey(); err != nil || db.format < 6 {
		return seq, leaf, hasLeaf, err
	}
	d, dleaf, dHasLeaf, found, err := db.newestDirtyRecord(seq)
	switch {
	case err != nil:
		return 0, leaf, false, err
	case !found:
		return seq, leaf, hasLeaf, nil
	case !dHasLeaf && !db.cfg.UnsafeNoLedger:
		// Only an upgraded store's records name no leaf, and the head
		// record written with them is as new.
		return 0, leaf, false, fmt.Errorf("storage: the newest dirty-log record (%d) names no ledger leaf", d)
	}
	return d, dleaf, dHasLeaf, nil
}

// readHeadKey reads the head record, metaHeadKey: a sequence and, with a
// ledger since format 5, its entry's leaf hash (zero if there is none).
func (db *DB) readHeadKey() (seq uint64, leaf ledger.Hash, hasLeaf bool, err error) {
	v, closer, err := db.pdb.Get(metaHeadKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, leaf, false, nil
	}
	if err != nil {
		return 0, leaf, false, fmt.Errorf("storage: read the head record: %w", err)
	}
	defer closer.Close()
	switch len(v) {
	case 8:
	case 8 + len(leaf):
		copy(leaf[:], v[8:])
		hasLeaf = true
	default:
		return 0, leaf, false, fmt.Errorf("storage: corrupt head record (%d bytes)", len(v))
	}
	return binary.BigEndian.Uint64(v), leaf, hasLeaf, nil
}

// headLeaf returns the leaf hash of head's ledger entry as the store
// records it apart from the entry: in the head record, or in a format 4
// store, as its stored Merkle leaf. ok is false when neither has it.
func (db *DB) headLeaf(head uint64) (leaf ledger.Hash, ok bool, err error) {
	seq, leaf, ok, err := db.readHeadRecord()
	switch {
	case err != nil:
		return leaf, false, err
	case ok && seq == head:
		return leaf, true, nil
	}
	leaf, err = db.storedNode(ledger.NodeID{Level: 0, Index: head - 1})
	if errors.Is(err, pebble.ErrNotFound) {
		return leaf, false, nil
	}
	return leaf, err == nil, err
}

// readUint64 reads a meta record holding one big-endian uint64 (0 if absent).
func (db *DB) readUint64(key []byte) (uint64, error) {
	v, closer, err := db.pdb.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("storage: read meta %q: %w", key, err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("storage: corrupt meta record %q (%d bytes)", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// ReadSeq returns the newest sequence a new snapshot may read: every
// transaction up to it is durable.
func (db *DB) ReadSeq() uint64 { return db.visible.Load() }

// SystemSeq returns the last sequence that changed the system keyspace
// (catalog, users): caches of it are stale when built at an older sequence.
func (db *DB) SystemSeq() uint64 { return db.system.Load() }

// RaftIndex returns the replicated log index of the last applied commit or
// signature (0 on a node that never replicated).
func (db *DB) RaftIndex() uint64 { return db.raftIndex.Load() }

// AppliedSeq returns the last sequence written to pebble (possibly not yet
// synced).
func (db *DB) AppliedSeq() uint64 { return db.applied.Load() }

// Close flushes and closes pebble.
func (db *DB) Close() error {
	if db.closed.Load() {
		return nil
	}
	db.stopSigner()
	if !db.closed.CompareAndSwap(false, true) {
		return nil
	}
	db.visibleMu.Lock()
	db.visibleCond.Broadcast()
	db.visibleMu.Unlock()
	// Let an Apply that began before closed was set finish (it may start
	// a checkpoint), then wait for checkpoints, which take applyMu last.
	db.applyMu.Lock()
	//lint:ignore SA2001 waiting for the Apply in progress is the point
	db.applyMu.Unlock()
	db.ckptWG.Wait()
	// A last checkpoint, so that the next Open finds the dirty log
	// empty (after a crash it reads it back instead).
	db.applyMu.Lock()
	final := db.ov.active.Len() > 0 && !db.cfg.VerifyOnly && db.stateErr == nil
	if final {
		db.freezeOverlay()
	}
	db.applyMu.Unlock()
	if final {
		if err := db.writeFrozen(false); err != nil {
			db.log.Warn("storage: final current-keyspace checkpoint failed; the next open reads the dirty log", "err", err)
		}
	}
	db.applyMu.Lock()
	defer db.applyMu.Unlock()
	db.drainIters(true)
	if db.cfg.NoWAL && !db.cfg.VerifyOnly {
		// Without a WAL, what the memtable holds would be replayed from
		// the raft log at the next start; flushed, nothing is.
		if err := db.pdb.Flush(); err != nil {
			db.log.Warn("storage: flush at close failed; the next start applies the rest of the raft log again", "err", err)
		}
	}
	return db.pdb.Close()
}

// Metrics returns pebble's metrics (for logs, benchmarks and the admin
// server's /debug/storage), or nil once the store is closed.
func (db *DB) Metrics() *pebble.Metrics {
	if db.closed.Load() {
		return nil
	}
	return db.pdb.Metrics()
}

type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
	panic(fmt.Sprintf(format, args...))
}

// EstimateSize returns pebble's estimate of the bytes stored under prefix,
// all versions included.
func (db *DB) EstimateSize(prefix []byte) (uint64, error) {
	if db.closed.Load() {
		return 0, ErrClosed
	}
	return db.pdb.EstimateDiskUsage(prefix, PrefixEnd(prefix))
}
