package storage

import (
	"log/slog"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

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

// countBackground makes l tell f when a flush or compaction starts (+1)
// and ends (-1); pebble pairs every begin with an end, failed jobs too.
func countBackground(l *pebble.EventListener, f func(delta int)) {
	flushEnd, compactionEnd := l.FlushEnd, l.CompactionEnd
	l.FlushBegin = func(pebble.FlushInfo) { f(1) }
	l.FlushEnd = func(i pebble.FlushInfo) {
		f(-1)
		flushEnd(i)
	}
	l.CompactionBegin = func(pebble.CompactionInfo) { f(1) }
	l.CompactionEnd = func(i pebble.CompactionInfo) {
		f(-1)
		compactionEnd(i)
	}
}
