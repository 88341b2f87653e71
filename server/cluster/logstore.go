package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/raft"

	"github.com/cofferdb/coffer/storage"
)

// ErrKeyNotFound is returned by LogStore.Get and GetUint64 for a key never
// set. Its text is exactly "not found", without the package prefix our other
// errors carry, because raft recognises a missing stable key by comparing
// err.Error() with "not found" (as raft-boltdb returns it).
var ErrKeyNotFound = errors.New("not found")

// Raft's keyspace in its own pebble instance: the log under logPrefix with
// the big-endian index as suffix (so pebble's order is index order), the
// stable store under stablePrefix with the caller's key as suffix.
const (
	logPrefix    byte = 'l'
	stablePrefix byte = 's'
)

// logEncodingV1 is the first byte of every encoded log entry, so the
// encoding can change without a migration of old entries.
const logEncodingV1 byte = 1

var (
	_ raft.LogStore          = (*LogStore)(nil)
	_ raft.StableStore       = (*LogStore)(nil)
	_ raft.MonotonicLogStore = (*LogStore)(nil)
)

// LogStore is raft's log and stable store on a pebble instance of its own,
// kept apart from the ledger's so that log truncation never competes with
// the ledger's compactions and a snapshot of the ledger never includes the
// log.
type LogStore struct {
	pdb  *pebble.DB
	sync *pebble.WriteOptions

	// mu serialises writes to the log, so that first and last always
	// describe what pebble holds: raft appends from its main goroutine and
	// truncates after a snapshot from another.
	mu     sync.Mutex
	first  atomic.Uint64
	last   atomic.Uint64
	closed atomic.Bool
}

// OpenLogStore opens or creates the log store in dir. With noSync, writes
// are not fsynced (tests and benchmarks only: a crash may lose entries raft
// believes durable, which breaks raft's safety).
func OpenLogStore(dir string, noSync bool) (*LogStore, error) {
	return openLogStore(dir, noSync, logMemTableSize)
}

// logMemTableSize is the log store's memtable size (a node's is staggered
// from it: StaggeredSize). Larger than pebble's 4 MiB: the log is written
// at the commit rate and truncated after snapshots, so most entries are
// deleted before they would be worth compacting.
const logMemTableSize = 32 << 20

func openLogStore(dir string, noSync bool, memTableSize uint64) (*LogStore, error) {
	// Appends are fsynced one by one: zero-filled WAL files
	// (storage.WALFS) keep those syncs to one device flush each.
	opts := &pebble.Options{Logger: pebbleLogger{slog.Default()}, MemTableSize: memTableSize, FS: storage.WALFS(vfs.Default)}
	storage.SetLevelCompression(opts)
	opts.EventListener = storage.EventListener(slog.Default(), "raft log", nil)
	opts.EnsureDefaults()
	pdb, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: open raft log %s: %w", dir, err)
	}
	s := &LogStore{pdb: pdb, sync: pebble.Sync}
	if noSync {
		s.sync = pebble.NoSync
	}
	if err := s.loadBounds(); err != nil {
		_ = pdb.Close()
		return nil, err
	}
	return s, nil
}

// Close closes pebble. It is safe to call more than once.
func (s *LogStore) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pdb.Close()
}

// IsMonotonic tells raft to delete the whole log after restoring a snapshot
// rather than leave a gap: a pebble range deletion makes that cheap.
func (s *LogStore) IsMonotonic() bool { return true }

// FirstIndex returns the first index in the log, 0 if it is empty.
func (s *LogStore) FirstIndex() (uint64, error) { return s.first.Load(), nil }

// LastIndex returns the last index in the log, 0 if it is empty.
func (s *LogStore) LastIndex() (uint64, error) { return s.last.Load(), nil }

// GetLog reads the entry at index into out, or returns raft.ErrLogNotFound.
func (s *LogStore) GetLog(index uint64, out *raft.Log) error {
	if s.closed.Load() {
		return errLogStoreClosed
	}
	v, closer, err := s.pdb.Get(logKey(index))
	if errors.Is(err, pebble.ErrNotFound) {
		return raft.ErrLogNotFound
	}
	if err != nil {
		return fmt.Errorf("cluster: raft log %d: %w", index, err)
	}
	defer closer.Close()
	if err := decodeLog(v, out); err != nil {
		return fmt.Errorf("cluster: raft log %d: %w", index, err)
	}
	out.Index = index
	return nil
}

// StoreLog appends one entry.
func (s *LogStore) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

// StoreLogs writes logs in one batch, fsynced unless the store was opened
// with noSync.
func (s *LogStore) StoreLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	b := s.pdb.NewBatch()
	defer b.Close()
	var buf []byte
	lo, hi := logs[0].Index, logs[0].Index
	for _, l := range logs {
		buf = encodeLog(buf[:0], l)
		if err := b.Set(logKey(l.Index), buf, nil); err != nil {
			return fmt.Errorf("cluster: raft log %d: %w", l.Index, err)
		}
		lo, hi = min(lo, l.Index), max(hi, l.Index)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return errLogStoreClosed
	}
	if err := b.Commit(s.sync); err != nil {
		return fmt.Errorf("cluster: store raft logs %d..%d: %w", lo, hi, err)
	}
	if first := s.first.Load(); first == 0 || lo < first {
		s.first.Store(lo)
	}
	if hi > s.last.Load() {
		s.last.Store(hi)
	}
	return nil
}

// DeleteRange deletes the entries from lo to hi inclusive.
func (s *LogStore) DeleteRange(lo, hi uint64) error {
	if lo > hi {
		return nil
	}
	end := logKeyUpperBound()
	if hi < math.MaxUint64 {
		end = logKey(hi + 1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return errLogStoreClosed
	}
	if err := s.pdb.DeleteRange(logKey(lo), end, s.sync); err != nil {
		return fmt.Errorf("cluster: delete raft logs %d..%d: %w", lo, hi, err)
	}
	return s.loadBounds()
}

// loadBounds reads the first and last index from pebble. Callers other than
// OpenLogStore hold mu.
func (s *LogStore) loadBounds() error {
	it, err := s.pdb.NewIter(&pebble.IterOptions{
		LowerBound: []byte{logPrefix},
		UpperBound: logKeyUpperBound(),
	})
	if err != nil {
		return fmt.Errorf("cluster: read raft log bounds: %w", err)
	}
	defer it.Close()
	var first, last uint64
	if it.First() {
		first = binary.BigEndian.Uint64(it.Key()[1:])
	}
	if it.Last() {
		last = binary.BigEndian.Uint64(it.Key()[1:])
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("cluster: read raft log bounds: %w", err)
	}
	s.first.Store(first)
	s.last.Store(last)
	return nil
}

// errLogStoreClosed is what the store answers once closed: pebble would
// panic. Raft's transport can still deliver a heartbeat, which sets the
// current term, while its node shuts down.
var errLogStoreClosed = errors.New("cluster: raft log store closed")

// Set stores val under key, fsynced unless the store was opened with noSync.
func (s *LogStore) Set(key, val []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return errLogStoreClosed
	}
	if err := s.pdb.Set(stableKey(key), val, s.sync); err != nil {
		return fmt.Errorf("cluster: set raft stable key %q: %w", key, err)
	}
	return nil
}

// Get returns the value of key, or ErrKeyNotFound.
func (s *LogStore) Get(key []byte) ([]byte, error) {
	if s.closed.Load() {
		return nil, errLogStoreClosed
	}
	v, closer, err := s.pdb.Get(stableKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrKeyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: get raft stable key %q: %w", key, err)
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// SetUint64 stores val under key.
func (s *LogStore) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 returns the value of key, or 0 and ErrKeyNotFound.
func (s *LogStore) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("cluster: raft stable key %q holds %d bytes, not a uint64", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func logKey(index uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{logPrefix}, index)
}

func logKeyUpperBound() []byte { return []byte{logPrefix + 1} }

func stableKey(key []byte) []byte {
	return append([]byte{stablePrefix}, key...)
}

// encodeLog appends l without its index (the key holds it):
//
//	version byte, uvarint term, type byte, uvarint len + data,
//	uvarint len + extensions, varint AppendedAt in Unix nanoseconds (0: unset)
func encodeLog(buf []byte, l *raft.Log) []byte {
	buf = append(buf, logEncodingV1)
	buf = binary.AppendUvarint(buf, l.Term)
	buf = append(buf, byte(l.Type))
	buf = binary.AppendUvarint(buf, uint64(len(l.Data)))
	buf = append(buf, l.Data...)
	buf = binary.AppendUvarint(buf, uint64(len(l.Extensions)))
	buf = append(buf, l.Extensions...)
	var at int64
	if !l.AppendedAt.IsZero() {
		at = l.AppendedAt.UnixNano()
	}
	return binary.AppendVarint(buf, at)
}

var errCorruptLog = errors.New("cluster: corrupt raft log entry")

// decodeLog fills out from v, copying the bytes: v belongs to pebble.
func decodeLog(v []byte, out *raft.Log) error {
	if len(v) == 0 || v[0] != logEncodingV1 {
		return errCorruptLog
	}
	v = v[1:]
	term, n := binary.Uvarint(v)
	if n <= 0 || len(v) < n+1 {
		return errCorruptLog
	}
	typ := raft.LogType(v[n])
	v = v[n+1:]
	data, v, ok := decodeBytes(v)
	if !ok {
		return errCorruptLog
	}
	ext, v, ok := decodeBytes(v)
	if !ok {
		return errCorruptLog
	}
	at, n := binary.Varint(v)
	if n <= 0 || n != len(v) {
		return errCorruptLog
	}
	*out = raft.Log{Term: term, Type: typ, Data: data, Extensions: ext}
	if at != 0 {
		out.AppendedAt = time.Unix(0, at)
	}
	return nil
}

// decodeBytes reads a uvarint length and that many bytes (a copy; nil when
// empty) from v.
func decodeBytes(v []byte) (b, rest []byte, ok bool) {
	size, n := binary.Uvarint(v)
	if n <= 0 || uint64(len(v)-n) < size {
		return nil, nil, false
	}
	if size > 0 {
		b = append([]byte(nil), v[n:n+int(size)]...)
	}
	return b, v[n+int(size):], true
}

// pebbleLogger sends pebble's messages to slog (storage has its own; this
// package must not import storage's internals for one adapter).
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "raft-pebble")
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "raft-pebble")
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "raft-pebble")
	panic(fmt.Sprintf(format, args...))
}

// Metrics returns pebble's metrics of the log store (LSM shape,
// compactions, WAL), for the admin server's /debug/storage. It returns nil once the store is closed.
func (s *LogStore) Metrics() *pebble.Metrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil
	}
	return s.pdb.Metrics()
}
