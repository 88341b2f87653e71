package storage

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"
)

// A store refuses commits while its filesystem has less than
// Config.MinFreeBytes free, with ErrDiskFull, rather than letting pebble's
// write-ahead log or a compaction meet a full disk (which pebble does not
// survive cleanly). Reads go on, and commits resume once space is freed.
// Only proposers check (CheckSpace): a replica applying an already
// committed entry must apply it whatever its disk says.

// DefaultMinFreeBytes is the free space a store keeps in reserve.
const DefaultMinFreeBytes = 64 << 20

// ErrDiskFull reports that a commit was refused for lack of disk space.
var ErrDiskFull = errors.New("disk full")

// spaceCheckEvery is how long a free-space reading is reused.
const spaceCheckEvery = 250 * time.Millisecond

type spaceGuard struct {
	mu   sync.Mutex
	at   time.Time
	free uint64
	err  error
}

// CheckSpace returns an error wrapping ErrDiskFull when the store's
// filesystem has less than Config.MinFreeBytes free.
func (db *DB) CheckSpace() error {
	min := db.cfg.MinFreeBytes
	if db.cfg.InMemory || min < 0 {
		return nil
	}
	if min == 0 {
		min = DefaultMinFreeBytes
	}
	g := &db.space
	g.mu.Lock()
	if time.Since(g.at) >= spaceCheckEvery || db.cfg.FreeSpace != nil {
		g.free, g.err = db.freeBytes()
		g.at = time.Now()
	}
	free, err := g.free, g.err
	g.mu.Unlock()
	if err != nil {
		return nil // cannot tell: let the write try
	}
	if free < uint64(min) {
		return fmt.Errorf("%w (%d MiB free on the data directory's filesystem; Coffer keeps %d MiB in reserve and refuses commits until space is freed)", ErrDiskFull, free>>20, min>>20)
	}
	return nil
}

func (db *DB) freeBytes() (uint64, error) {
	if db.cfg.FreeSpace != nil {
		return db.cfg.FreeSpace()
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(db.cfg.Dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}
