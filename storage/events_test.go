package storage

import (
	"bytes"
	"log/slog"
	"strings"
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
