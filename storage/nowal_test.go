package storage

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// openNoWAL opens a store without a WAL (as a cluster node's) in dir on
// fs (nil: the disk).
func openNoWAL(t *testing.T, fs vfs.FS, dir string) *DB {
	t.Helper()
	cfg := DefaultConfig(dir)
	cfg.NoWAL, cfg.fs = true, fs
	db, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// crashReopen takes what db's filesystem fs has synced (a crash), closes
// db and opens the crashed copy.
func crashReopen(t *testing.T, fs *vfs.MemFS, db *DB) *DB {
	t.Helper()
	crashed := fs.CrashClone(vfs.CrashCloneCfg{}) // only what was synced
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return openNoWAL(t, crashed, "db")
}

// applyIndexed applies commits from..to, commit i writing t/k<i> at raft
// index 10*i, as replication does.
func applyIndexed(t *testing.T, db *DB, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		ws := &WriteSet{Mutations: []Mutation{put(fmt.Sprintf("t/k%03d", i), "v")}}
		if _, err := db.Apply(ws, db.ReadSeq(), Commit{Principal: "p", RaftIndex: uint64(10 * i)}); err != nil {
			t.Fatal(err)
		}
	}
}

// A store without a WAL that crashes comes back as of its last flush (Sync
// here): a prefix of its commits, with the raft index that says where
// replication must apply again, the rows of that prefix and a ledger that
// continues from it.
func TestNoWALCrashKeepsFlushedPrefix(t *testing.T) {
	t.Parallel()
	fs := vfs.NewCrashableMem()
	db := openNoWAL(t, fs, "db")
	applyIndexed(t, db, 1, 20)
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	applyIndexed(t, db, 21, 30)
	if db.RaftIndex() != 300 || db.ReadSeq() != 30 {
		t.Fatalf("before the crash: raft index %d, seq %d", db.RaftIndex(), db.ReadSeq())
	}
	re := crashReopen(t, fs, db)
	defer re.Close()
	if re.RaftIndex() != 200 || re.ReadSeq() != 20 {
		t.Fatalf("after the crash: raft index %d, seq %d; want 200, 20 (the flushed prefix)", re.RaftIndex(), re.ReadSeq())
	}
	for i, want := range map[int]bool{1: true, 20: true, 21: false, 30: false} {
		if _, ok, err := re.Get(fmt.Appendf(nil, "t/k%03d", i), re.ReadSeq()); err != nil || ok != want {
			t.Fatalf("row %d after the crash: present %v (%v); want %v", i, ok, err, want)
		}
	}
	// Replication applies the lost entries again; the chain continues
	// from the prefix and verifies.
	applyIndexed(t, re, 21, 30)
	if re.RaftIndex() != 300 || re.ReadSeq() != 30 {
		t.Fatalf("after replaying: raft index %d, seq %d", re.RaftIndex(), re.ReadSeq())
	}
	if rep, err := re.VerifyLedger(nil, nil); err != nil || rep.Entries != 30 {
		t.Fatalf("verify after replaying: %+v, %v", rep, err)
	}
}

// Close flushes a store without a WAL, so a clean restart has every
// commit and replays nothing.
func TestNoWALCloseFlushes(t *testing.T) {
	t.Parallel()
	fs := vfs.NewCrashableMem()
	db := openNoWAL(t, fs, "db")
	applyIndexed(t, db, 1, 12)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	re := openNoWAL(t, fs.CrashClone(vfs.CrashCloneCfg{}), "db")
	defer re.Close()
	if re.RaftIndex() != 120 || re.ReadSeq() != 12 {
		t.Fatalf("after a clean close: raft index %d, seq %d; want 120, 12", re.RaftIndex(), re.ReadSeq())
	}
}

// A checkpoint of a store without a WAL holds the commits still in its
// memtable, as the raft index it reports says; a restore into another
// such store is durable when Restore returns.
func TestNoWALCheckpointRestore(t *testing.T) {
	t.Parallel()
	src := openNoWAL(t, nil, t.TempDir()) // a checkpoint goes to disk
	defer src.Close()
	applyIndexed(t, src, 1, 15) // never flushed
	dir := filepath.Join(t.TempDir(), "cp")
	ri, seq, err := src.Checkpoint(dir)
	if err != nil || ri != 150 || seq != 15 {
		t.Fatalf("Checkpoint = %d, %d, %v; want 150, 15", ri, seq, err)
	}

	fs := vfs.NewCrashableMem()
	dst := openNoWAL(t, fs, "db")
	if err := dst.Restore(dir); err != nil {
		t.Fatal(err)
	}
	re := crashReopen(t, fs, dst)
	defer re.Close()
	if re.RaftIndex() != 150 || re.ReadSeq() != 15 {
		t.Fatalf("restored store after a crash: raft index %d, seq %d; want 150, 15", re.RaftIndex(), re.ReadSeq())
	}
	if _, ok, err := re.Get([]byte("t/k015"), re.ReadSeq()); err != nil || !ok {
		t.Fatalf("the checkpoint lacks the memtable's last commit: %v %v", ok, err)
	}
}

// A checkpoint big enough to be ingested as a table (writeCurrent) is
// durable at once, so it must never hold the current entries of commits
// that a crash can still take away: on a store without a WAL those in the
// memtable, on one whose WAL is not synced its unsynced tail. After a
// crash, the store must hold no current entry of a lost commit: its
// ledger verifies (every current entry equals its key's newest version),
// a lost commit's row is absent, and new commits that take the lost
// sequence numbers verify too.
func TestIngestedCheckpointKeepsToDurableCommits(t *testing.T) {
	t.Parallel()
	for _, noWAL := range []bool{true, false} {
		t.Run(fmt.Sprintf("noWAL=%v", noWAL), func(t *testing.T) {
			t.Parallel()
			fs := vfs.NewCrashableMem()
			open := func(fs vfs.FS) *DB {
				cfg := DefaultConfig("db")
				cfg.NoWAL, cfg.NoSync, cfg.fs = noWAL, true, fs
				db, err := Open(cfg)
				if err != nil {
					t.Fatal(err)
				}
				db.ckptBytes, db.ckptBatchBytes = 1<<10, 200 // ingested checkpoints every few commits
				return db
			}
			db := open(fs)
			applyIndexed(t, db, 1, 40)
			db.ckptWG.Wait()
			if db.ckptsDone.Load() == 0 {
				t.Fatal("no checkpoint ran")
			}
			through, err := db.readUint64(metaCurrentKey)
			if err != nil || through == 0 {
				t.Fatalf("current keyspace complete through %d (%v): no checkpoint was written", through, err)
			}
			// Five commits after the last checkpoint, which the crash takes.
			db.ckptBytes = 1 << 30
			applyIndexed(t, db, 41, 45)
			crashed := fs.CrashClone(vfs.CrashCloneCfg{}) // only what was synced
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			re := open(crashed)
			defer re.Close()
			kept := int(re.ReadSeq())
			if kept < int(through) || kept >= 45 {
				t.Fatalf("after the crash: seq %d; want the last checkpoint's %d at least and not all 45", kept, through)
			}
			if rep, err := re.VerifyLedger(nil, nil); err != nil {
				t.Fatalf("verify after the crash (seq %d): %+v, %v", kept, rep, err)
			}
			if _, ok, err := re.Get([]byte("t/k045"), re.ReadSeq()); err != nil || ok {
				t.Fatalf("a lost commit's row after the crash: present %v (%v)", ok, err)
			}
			// Other commits take the lost sequence numbers.
			for i := kept + 1; i <= 45; i++ {
				ws := &WriteSet{Mutations: []Mutation{put(fmt.Sprintf("t/new%03d", i), "w")}}
				if _, err := re.Apply(ws, re.ReadSeq(), Commit{Principal: "p"}); err != nil {
					t.Fatal(err)
				}
			}
			re.ckptWG.Wait()
			if rep, err := re.VerifyLedger(nil, nil); err != nil || rep.Entries != 45 {
				t.Fatalf("verify after new commits: %+v, %v", rep, err)
			}
			if _, ok, err := re.Get([]byte("t/k045"), re.ReadSeq()); err != nil || ok {
				t.Fatalf("a lost commit's row after its sequence was reused: present %v (%v)", ok, err)
			}
		})
	}
}
