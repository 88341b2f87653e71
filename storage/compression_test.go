package storage

import (
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
)

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
