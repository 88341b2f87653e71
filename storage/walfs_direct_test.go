package storage

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// createWAL creates path as pebble creates a WAL, through WALFS.
func createWAL(t *testing.T, path string) vfs.File {
	t.Helper()
	f, err := WALFS(vfs.Default).Create(path, walCategory)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// checkWAL reads path back: want, then zeros to the end of the file.
func checkWAL(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < len(want) {
		t.Fatalf("file holds %d bytes, %d written", len(got), len(want))
	}
	if i := mismatch(got[:len(want)], want); i >= 0 {
		t.Fatalf("byte %d of %d differs from what was written", i, len(want))
	}
	if i := bytes.IndexFunc(got[len(want):], func(r rune) bool { return r != 0 }); i >= 0 {
		t.Fatalf("byte %d past the %d written is not zero", len(want)+i, len(want))
	}
}

// writeRandom writes n random non-zero bytes to f and appends them to
// want.
func writeRandom(t *testing.T, f vfs.File, rng *rand.Rand, n int, want *[]byte) {
	t.Helper()
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(1 + rng.IntN(255))
	}
	if k, err := f.Write(p); err != nil || k != n {
		t.Fatalf("write of %d bytes: %d, %v", n, k, err)
	}
	*want = append(*want, p...)
}

func mismatch(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// Direct WAL writes of every size and alignment (within a page, across
// pages, ending exactly on a page boundary, larger than the staging
// buffer) read back as written, with zeros after, whether the file is
// new or a recycled WAL full of old bytes.
func TestDirectWALWrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "000001.log")
	f := createWAL(t, path)
	if _, ok := f.(*directFile); !ok {
		f.Close()
		t.Skipf("the filesystem of %s refuses O_DIRECT: WALs are written through the page cache there (zeroAheadFile)", dir)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{1, 700, directPage - 701, directPage, 3*directPage + 5, directPage - 1, 1, 100 << 10, 32 << 10, 17}
	for range 200 {
		sizes = append(sizes, 1+rng.IntN(9000))
	}
	var want []byte
	write := func(f vfs.File, n int) { writeRandom(t, f, rng, n, &want) }
	for i, n := range sizes {
		write(f, n)
		if i%50 == 0 {
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			checkWAL(t, path, want)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checkWAL(t, path, want)
	if st, _ := os.Stat(path); st.Size()%walFillChunk != 0 {
		t.Errorf("file size %d: not zero-filled ahead to a multiple of %d", st.Size(), walFillChunk)
	}

	// Recycled: pebble reuses an old WAL, which holds old bytes, and
	// writes it from the start.
	old := bytes.Repeat([]byte{0xEE}, 3*directPage+123)
	recycled := filepath.Join(dir, "old.log")
	if err := os.WriteFile(recycled, old, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := WALFS(vfs.Default).ReuseForWrite(recycled, filepath.Join(dir, "000002.log"), walCategory)
	if err != nil {
		t.Fatal(err)
	}
	want = want[:0]
	write(r, 1000)
	write(r, 2*directPage)
	if err := r.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "000002.log"))
	if err != nil {
		t.Fatal(err)
	}
	if i := mismatch(got[:len(want)], want); i >= 0 {
		t.Fatalf("recycled WAL: byte %d differs from what was written", i)
	}
	// The rest of the last written page is zeros (replay stops there),
	// not the old log's bytes.
	end := (len(want) + directPage - 1) &^ (directPage - 1)
	if i := bytes.IndexFunc(got[len(want):end], func(r rune) bool { return r != 0 }); i >= 0 {
		t.Fatalf("recycled WAL: byte %d of the last written page is not zero", len(want)+i)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// A store that commits without syncing (a cluster node's) keeps its WAL
// in the page cache: a direct write would wait for the device.
func TestNoSyncStoreWALBuffered(t *testing.T) {
	f, err := bufferedWALFS(vfs.Default).Create(filepath.Join(t.TempDir(), "000001.log"), walCategory)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := f.(*zeroAheadFile); !ok {
		t.Fatalf("bufferedWALFS made a %T", f)
	}
}

// A direct WAL's writes wait for the Sync that follows them, which
// writes their pages and flushes the device in one RWF_DSYNC call; more
// than maxStaged unsynced bytes, and Close, write them without one.
func TestDirectWALStagesUntilSync(t *testing.T) {
	for _, noDSync := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "000001.log")
		f := createWAL(t, path)
		d, ok := f.(*directFile)
		if !ok {
			f.Close()
			t.Skipf("the filesystem of %s refuses O_DIRECT", dir)
		}
		// noDSync: a kernel without RWF_DSYNC, where Sync writes the
		// pages, then calls fdatasync.
		d.noDSync = noDSync
		rng := rand.New(rand.NewPCG(3, 4))
		var want []byte
		write := func(n int) { writeRandom(t, f, rng, n, &want) }
		write(700)
		write(5000)
		checkWAL(t, path, nil) // staged: nothing written yet
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		checkWAL(t, path, want)
		if d.unsynced || d.written != int64(len(want)) {
			t.Fatalf("after Sync: unsynced %v, written %d of %d", d.unsynced, d.written, len(want))
		}
		if dsyncs := d.dsyncs; noDSync != (dsyncs == 0) {
			t.Fatalf("noDSync %v: %d RWF_DSYNC writes", noDSync, dsyncs)
		}
		if err := f.Sync(); err != nil { // nothing staged: a no-op
			t.Fatal(err)
		}

		// More than maxStaged bytes without a sync are written (all but
		// the staged tail); the Sync after them also syncs those.
		synced := len(want)
		for len(want)-synced < maxStaged {
			write(32 << 10)
		}
		if !d.unsynced || d.written != int64(len(want)) {
			t.Fatalf("past maxStaged: unsynced %v, written %d of %d", d.unsynced, d.written, len(want))
		}
		checkWAL(t, path, want)
		write(100)
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		if d.unsynced {
			t.Fatal("Sync left written bytes unsynced")
		}
		checkWAL(t, path, want)

		// Close writes what is staged.
		write(3000)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		checkWAL(t, path, want)
	}
}

// While the store's InlineWALWrites says so, a synced direct write is
// made inline (a raw system call) and lands like any other; a write
// slower than inlineStall turns inline writes off for inlinePause.
func TestDirectWALInlineWrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "000001.log")
	allow := false
	inline := &inlineWrites{allow: func() bool { return allow }}
	f, err := walFS{FS: vfs.Default, direct: true, inline: inline}.Create(path, walCategory)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, ok := f.(*directFile)
	if !ok {
		t.Skipf("the filesystem of %s refuses O_DIRECT", dir)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var want []byte
	commit := func(n int) {
		t.Helper()
		writeRandom(t, f, rng, n, &want)
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		checkWAL(t, path, want)
	}
	commit(300)
	if inline.n.Load() != 0 || d.dsyncs != 1 {
		t.Fatalf("not allowed: %d inline writes of %d", inline.n.Load(), d.dsyncs)
	}
	allow = true
	for _, n := range []int{300, 5000, 100, 9000} {
		commit(n)
	}
	if inline.n.Load() != 4 || d.dsyncs != 5 {
		t.Fatalf("allowed: %d inline writes of %d, want 4 of 5", inline.n.Load(), d.dsyncs)
	}

	// A stall: every write counts as one while inlineStall is 0.
	defer func(s, p time.Duration) { inlineStall, inlinePause = s, p }(inlineStall, inlinePause)
	inlineStall, inlinePause = 0, time.Hour
	commit(500)
	commit(500)
	if after := time.Unix(0, inline.after.Load()); inline.n.Load() != 5 || d.dsyncs != 7 || !after.After(time.Now().Add(50*time.Minute)) {
		t.Fatalf("after a stall: %d inline writes of %d, paused until %v", inline.n.Load(), d.dsyncs, after)
	}
	inline.after.Store(0) // the pause is over
	commit(500)
	if inline.n.Load() != 6 {
		t.Fatalf("after the pause: %d inline writes, want 6", inline.n.Load())
	}
}
