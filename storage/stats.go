package storage

import "time"

// Stats is a snapshot of the store's counters, for metrics.
type Stats struct {
	Applied uint64 // last sequence written to pebble
	Visible uint64 // last sequence durable and visible to readers
	Signed  uint64 // entries covered by the newest stored signature
	// CommitGroups counts the groups Apply has written (groupcommit.go);
	// Applied over CommitGroups is the mean group size.
	CommitGroups uint64
	// RowCacheBytes is the row cache's size (the overlay's base), and
	// RowCacheComplete whether it holds every current entry (overlay.go).
	RowCacheBytes    int64
	RowCacheComplete bool
	// OverlayBytes is the size of the current entries not yet in pebble's
	// current keyspace (the active generation).
	OverlayBytes int64
	// From pebble: files in L0, read amplification, the estimated
	// compaction debt and the memtables' size.
	L0Files        int64
	ReadAmp        int
	CompactionDebt uint64
	MemTableBytes  uint64
	// Flushes and Compactions count pebble's since the store opened;
	// WriteStalls and WriteStallTime its write stalls (commits held until
	// a flush or an L0 compaction caught up) and their summed length.
	Flushes, Compactions int64
	WriteStalls          uint64
	WriteStallTime       time.Duration
	// InlineWALWrites counts the synced WAL writes made inline, keeping
	// their P (walfs_direct.go).
	InlineWALWrites uint64
}

// Stats returns the store's counters.
func (db *DB) Stats() Stats {
	s := Stats{Applied: db.applied.Load(), Visible: db.visible.Load(), Signed: db.SignedSize()}
	db.commits.mu.Lock()
	s.CommitGroups = db.commits.groups
	db.commits.mu.Unlock()
	db.ov.mu.RLock()
	s.RowCacheBytes, s.RowCacheComplete = int64(db.ov.baseSize), db.ov.base != nil
	s.OverlayBytes = int64(db.ov.size)
	db.ov.mu.RUnlock()
	if db.inline != nil {
		s.InlineWALWrites = db.inline.n.Load()
	}
	if db.closed.Load() {
		return s
	}
	m := db.pdb.Metrics()
	s.L0Files, s.ReadAmp = m.Levels[0].TablesCount, m.ReadAmp()
	s.CompactionDebt, s.MemTableBytes = m.Compact.EstimatedDebt, m.MemTable.Size
	s.Flushes, s.Compactions = m.Flush.Count, m.Compact.Count
	s.WriteStalls, s.WriteStallTime = db.stalls.Get()
	return s
}
