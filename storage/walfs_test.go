package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWALZeroFilledAheadReplays commits through a real-filesystem store,
// checks that its WAL is zero-filled past the written bytes, and opens a
// copy of the directory taken while the store is still open (what a crash
// leaves: the WAL's tail is zeros, not an end-of-log trailer). Every
// synced commit must be there.
func TestWALZeroFilledAheadReplays(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := DefaultConfig(dir)
	db, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 300
	var head uint64
	for i := range n {
		v := strings.Repeat(fmt.Sprint(i), 50)
		if head, err = db.Apply(&WriteSet{Mutations: []Mutation{put(fmt.Sprintf("tk%04d", i), v)}}, db.ReadSeq(), Commit{}); err != nil {
			t.Fatal(err)
		}
	}

	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	filled := false
	for _, l := range logs {
		if st, err := os.Stat(l); err == nil && st.Size() > 0 && st.Size()%walFillChunk == 0 {
			filled = true
		}
	}
	if !filled {
		t.Fatalf("no WAL among %v is zero-filled to a multiple of %d bytes", logs, walFillChunk)
	}

	crash := t.TempDir()
	copyDir(t, dir, crash)
	cdb, err := Open(DefaultConfig(crash))
	if err != nil {
		t.Fatalf("open the crash image: %v", err)
	}
	defer cdb.Close()
	if cdb.ReadSeq() != head {
		t.Fatalf("head after crash %d, want %d", cdb.ReadSeq(), head)
	}
	for i := range n {
		want := strings.Repeat(fmt.Sprint(i), 50)
		if v, ok, err := cdb.Get(fmt.Appendf(nil, "tk%04d", i), head); err != nil || !ok || string(v) != want {
			t.Fatalf("key %d after crash: %q %v %v", i, v, ok, err)
		}
	}
}
