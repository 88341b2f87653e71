package storage

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// TestEventListenerCountsWriteStalls: a write stall is logged at WARN,
// with its length when it ends, and counted.
func TestEventListenerCountsWriteStalls(t *testing.T) {
	var logs bytes.Buffer
	stalls := &WriteStalls{}
	l := EventListener(slog.New(slog.NewTextHandler(&logs, nil)), "data", stalls)
	l.WriteStallBegin(pebble.WriteStallBeginInfo{Reason: "memtable count limit reached"})
	time.Sleep(2 * time.Millisecond)
	l.WriteStallEnd()
	n, total := stalls.Get()
	if n != 1 || total < 2*time.Millisecond {
		t.Fatalf("stalls %d, total %v", n, total)
	}
	if s := logs.String(); !strings.Contains(s, "level=WARN") || !strings.Contains(s, "memtable count limit reached") || !strings.Contains(s, "write stall ended") {
		t.Fatalf("log: %s", s)
	}
}

// TestBackgroundCounted: Config.Background hears every flush (and any
// compaction) and every current-keyspace checkpoint start and end.
func TestBackgroundCounted(t *testing.T) {
	var mu sync.Mutex
	var begins, running int
	cfg := DefaultConfig(t.TempDir())
	cfg.NoSync = true
	cfg.Background = func(delta int) {
		mu.Lock()
		defer mu.Unlock()
		running += delta
		if delta > 0 {
			begins++
		}
		if running < 0 {
			t.Errorf("background jobs running: %d", running)
		}
	}
	db, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	before := begins
	mu.Unlock()
	if err := db.pdb.Set([]byte("zz-background"), []byte("v"), pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	if err := db.pdb.Flush(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	flushes := begins - before
	mu.Unlock()
	// Commits enough to fill a small overlay: a checkpoint (or more).
	db.ckptBytes = 2 << 10
	for i := range 64 {
		ws := WriteSet{Mutations: []Mutation{put(fmt.Sprintf("k%03d", i), strings.Repeat("v", 64))}}
		if _, err := db.Apply(&ws, 0, Commit{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if flushes == 0 || begins == before+flushes || running != 0 {
		t.Fatalf("%d jobs began with the flush, %d in all after the commits, %d still running", flushes, begins-before, running)
	}
}
