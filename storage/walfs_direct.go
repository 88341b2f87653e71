package storage

import (
	"errors"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Direct WAL writes. A WAL file whose filesystem takes O_DIRECT is
// written through a second descriptor opened with it: the log goes to the
// device in whole 4 KiB pages (the page holding the end of the log is
// rewritten with each write, from a copy kept here), bypassing the page
// cache, so a sync has no dirty pages to find and write first. On this
// machine a 700-byte append and its fdatasync took 165-180 µs through the
// page cache and 117-153 µs written directly (bench: the storage RFC,
// "Durability").
//
// A Write only stages its bytes. The Sync that pebble's log writer issues
// right after it writes them with RWF_DSYNC, so that one system call
// carries the pages and the device-cache flush, which the kernel starts
// as the write completes; a write followed by an fdatasync returns to the
// process in between. Pebble's writes before one sync (a block it filled,
// then the partial one) become one write too. Staged bytes reach the
// device at the next Sync, at Close, or once maxStaged of them wait. That
// suits a log synced after every commit, the only kind written directly
// (walFS.direct); an unsynced write is not in the kernel's page cache
// either until then.
//
// Rewriting the last partial page is what the page cache does too: it
// writes back whole pages. Bytes of that page past the end of the log are
// zeros, which is how replay recognises the end (zeroAheadFile).

// Inline writes. While the server runs a single node on one P (one
// client, no flush or compaction: server/procs.go), a synced direct write
// is made as a raw system call: the runtime is not told of it, so the log
// writer's goroutine keeps the P while the device works (100-400 µs here).
// Told, the runtime's monitor takes the P from the blocked thread after
// 20 µs and, as no other P is idle, wakes a second thread to hold it,
// which finds nothing to run and parks in the network poller: at every
// commit, a thread woken on the other CPU and the monitor kept polling
// every 20 µs. Inline, durable single-row inserts from one connection went
// from 2,161 to 2,324 tx/s (means of 9 alternating fresh-node pairs, 6
// ahead), with 4.1 context switches and 5.2 system calls per commit
// instead of 6.9 and 8.8, and about a fifth less CPU.
//
// Nothing else in the process runs during an inline write: at one client
// that is the statement waiting for this very commit. A second client's
// statement is read once the write returns, and widens the node to more
// Ps, where writes go through the runtime again. A write that takes longer
// than inlineStall (a stalling device) turns inline writes off for
// inlinePause, so that the stall holds the rest of the process once, not
// at every commit. It is well above this disk's usual worst case: in its
// slow phase one 4 KiB write in 14,000 took over 10 ms (18 ms at most in
// 20 s), and with a 10 ms bound a node fresh from a sysbench run spent
// most of its first 20 s of inserts paused.
var (
	inlineStall = 50 * time.Millisecond
	inlinePause = 10 * time.Second
)

// inlineWrites decides and counts a store's inline WAL writes.
type inlineWrites struct {
	allow func() bool // the store's Config.InlineWALWrites
	// after: no inline write before this time (Unix ns), set by a stall.
	after atomic.Int64
	n     atomic.Uint64 // inline writes made
}

// start reports whether a write starting now may be made inline, and
// the time it starts at (for made).
func (w *inlineWrites) start() (t0 time.Time, ok bool) {
	if w == nil || !w.allow() {
		return time.Time{}, false
	}
	t0 = time.Now()
	return t0, t0.UnixNano() >= w.after.Load()
}

// made counts an inline write that started at t0 and ended at t1.
func (w *inlineWrites) made(t0, t1 time.Time) {
	w.n.Add(1)
	if d := t1.Sub(t0); d > inlineStall {
		w.after.Store(t1.Add(inlinePause).UnixNano())
	}
}

// directPage is the alignment of direct writes: offsets, lengths and
// buffer addresses are multiples of it.
const directPage = 4096

// maxStaged bounds the bytes a direct WAL stages before writing them
// without waiting for a Sync.
const maxStaged = 1 << 20

// errNoDSync is writeDSync's answer when the kernel lacks RWF_DSYNC.
var errNoDSync = errors.New("storage: RWF_DSYNC not supported")

// directFile is a WAL file written through an O_DIRECT descriptor.
type directFile struct {
	vfs.File          // pebble's descriptor: Stat, Preallocate …
	direct   *os.File // the O_DIRECT descriptor, for writes
	fd       int      // its number
	off      int64    // the log's length: bytes accepted by Write
	written  int64    // bytes [0, written) of the log were written
	filled   int64    // bytes [0, filled) exist as written blocks
	// buf holds the log's bytes [start, off): the staged ones and, before
	// them, those of the page holding written. start is page-aligned and
	// buf's address too, so a write can start at buf[0].
	start int64
	buf   []byte
	// unsynced: bytes were written without a sync since the last one.
	unsynced bool
	// noDSync: the kernel refused RWF_DSYNC; write, then fdatasync.
	noDSync bool
	dsyncs  int // writes made durable by RWF_DSYNC (tests)
	// inline, if set, decides whether a synced write is made inline
	// (above).
	inline *inlineWrites
}

// openDirect opens name for direct writes alongside f, or returns nil if
// the filesystem refuses O_DIRECT (tmpfs) or the platform lacks it.
// inline, if set, is directFile.inline.
func openDirect(f vfs.File, name string, size int64, inline *inlineWrites) vfs.File {
	d, err := openODirect(name)
	if err != nil {
		return nil
	}
	return &directFile{File: f, direct: d, fd: int(d.Fd()), filled: size, buf: alignedBuf(64 << 10)[:0], inline: inline}
}

// alignedBuf returns a buffer of n bytes whose address is page-aligned.
func alignedBuf(n int) []byte {
	b := make([]byte, n+directPage)
	skip := (directPage - int(uintptr(unsafe.Pointer(&b[0]))&(directPage-1))) & (directPage - 1)
	return b[skip : skip+n : skip+n]
}

// Write stages p for the next Sync.
func (f *directFile) Write(p []byte) (int, error) {
	// Room for p and the zeros that pad the last page.
	if need := (len(f.buf) + len(p) + directPage - 1) &^ (directPage - 1); need > cap(f.buf) {
		f.buf = append(alignedBuf(max(2*cap(f.buf), need))[:0], f.buf...)
	}
	f.buf = append(f.buf, p...)
	f.off += int64(len(p))
	if f.off-f.written >= maxStaged {
		if err := f.writeStaged(false); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// writeStaged writes the staged bytes' pages, durably if sync, and keeps
// the bytes of the page holding the log's end for the next write.
func (f *directFile) writeStaged(sync bool) error {
	if f.off > f.written {
		if err := f.writePages(sync && !f.unsynced); err != nil {
			return err
		}
	}
	if sync && f.unsynced {
		if err := f.File.SyncData(); err != nil {
			return err
		}
		f.unsynced = false
	}
	return nil
}

// writePages writes the staged bytes' pages, with RWF_DSYNC if dsync and
// the kernel takes it; otherwise they are left unsynced.
func (f *directFile) writePages(dsync bool) error {
	if f.off > f.filled {
		// Zero-fill whole pages ahead, from the first page past filled
		// (the partial page before it is written below, whole).
		f.filled = fillZeros(f.direct, (f.filled+directPage-1)&^(directPage-1), f.off)
	}
	n := len(f.buf)
	b := f.buf[:(n+directPage-1)&^(directPage-1)]
	clear(b[n:])
	dsynced := false
	if dsync && !f.noDSync {
		// One call: the pages, then the device's cache flushed. Any
		// error: written again below, then synced (which reports an
		// error that persists).
		err := f.writeDSync(b)
		dsynced, f.noDSync = err == nil, err == errNoDSync
		if dsynced {
			f.dsyncs++
		}
	}
	if !dsynced {
		if _, err := f.direct.WriteAt(b, f.start); err != nil {
			// A filesystem that opened the file for direct I/O but
			// refuses the write: write the same pages through the
			// page cache.
			if _, err := f.File.WriteAt(b, f.start); err != nil {
				return err
			}
		}
		f.unsynced = true
	}
	f.written = f.off
	last := f.off &^ (directPage - 1)
	f.buf = f.buf[:copy(f.buf, f.buf[last-f.start:n])]
	f.start = last
	return nil
}

// writeDSync writes b at the staged bytes' start with RWF_DSYNC, inline
// when f.inline allows it.
func (f *directFile) writeDSync(b []byte) error {
	t0, inline := f.inline.start()
	err := writeDSync(f.fd, b, f.start, inline)
	if inline {
		f.inline.made(t0, time.Now())
	}
	return err
}

// Sync writes the staged bytes and makes the log durable.
func (f *directFile) Sync() error { return f.writeStaged(true) }

// SyncData is Sync: pebble's syncing file calls it for Sync.
func (f *directFile) SyncData() error { return f.writeStaged(true) }

// SyncTo syncs the whole log.
func (f *directFile) SyncTo(int64) (fullSync bool, err error) {
	return true, f.writeStaged(true)
}

func (f *directFile) Close() error {
	err := f.writeStaged(false)
	if cerr := f.direct.Close(); err == nil {
		err = cerr
	}
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}
