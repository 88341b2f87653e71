package storage

import (
	"log/slog"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
)

// SetLevelCompression leaves L0 uncompressed and compresses the levels
// below with snappy, pebble's default. A flush writes a whole memtable to
// L0 at once, on the processor that also serves commits; the next
// compaction rewrites it into Lbase anyway, compressing it there, and
// most of the raft log's L0 tables are deleted by log truncation before
// any compaction reads them. On a 2-core cluster node, snappy took about
// a quarter of a flush's CPU (a follower's profile at 64 connections of
// single-row inserts: flushes 9.6% of its CPU, snappy within them 2.9%).
// Call it before opts.EnsureDefaults, which copies a level's setting to
// the levels below it that have none.
func SetLevelCompression(opts *pebble.Options) {
	for i := range opts.Levels {
		if i == 0 {
			opts.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
		} else {
			opts.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.SnappyCompression }
		}
	}
}

// WriteStalls counts pebble's write stalls: commits held until a flush or
// an L0 compaction catches up.
type WriteStalls struct {
	mu    sync.Mutex
	start time.Time
	count uint64
	total time.Duration
}

// Get returns the stalls so far and their summed length.
func (w *WriteStalls) Get() (count uint64, total time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count, w.total
}

// EventListener logs what an operator needs from pebble's events: write
// stalls at WARN, with their length (and counts them in stalls, if not
// nil); flushes and compactions at DEBUG. store names the pebble instance
// ("data", "raft log").
func EventListener(log *slog.Logger, store string, stalls *WriteStalls) *pebble.EventListener {
	if stalls == nil {
		stalls = &WriteStalls{}
	}
	return &pebble.EventListener{
		WriteStallBegin: func(i pebble.WriteStallBeginInfo) {
			stalls.mu.Lock()
			stalls.start = time.Now()
			stalls.count++
			stalls.mu.Unlock()
			log.Warn("storage: write stall: commits wait for pebble", "store", store, "reason", i.Reason)
		},
		WriteStallEnd: func() {
			stalls.mu.Lock()
			d := time.Since(stalls.start)
			stalls.total += d
			stalls.mu.Unlock()
			log.Warn("storage: write stall ended", "store", store, "duration", d)
		},
		FlushEnd: func(i pebble.FlushInfo) {
			log.Debug("storage: flush", "store", store, "info", i.String())
		},
		CompactionEnd: func(i pebble.CompactionInfo) {
			log.Debug("storage: compaction", "store", store, "info", i.String())
		},
	}
}
