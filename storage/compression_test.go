package storage

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
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

// TestSetLevelCompression: L0 is written uncompressed, every level below
// with snappy, after pebble fills in its defaults.
func TestSetLevelCompression(t *testing.T) {
	opts := &pebble.Options{}
	SetLevelCompression(opts)
	opts.EnsureDefaults()
	for i := range opts.Levels {
		want := sstable.SnappyCompression
		if i == 0 {
			want = sstable.NoCompression
		}
		if got := opts.Levels[i].Compression(); got != want {
			t.Errorf("L%d: %s, want %s", i, got.Name, want.Name)
		}
	}
}
