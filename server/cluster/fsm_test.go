package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/cofferdb/coffer/storage"
)

// A batch of committed entries is applied in log order, with the applying
// hook called once around the whole batch with the write sets of its commits;
// a conflicting commit is rejected without a sequence, entries the store
// already holds are skipped, and onApply sees every applied commit.
func TestFSMApplyBatch(t *testing.T) {
	db := openStore(t)
	var hooked []int // mutations the hook saw, per call
	var applied int
	f := &fsm{db: db, log: slog.New(slog.DiscardHandler),
		applying: func(wss []*storage.WriteSet, apply func() error) error {
			n := 0
			for _, ws := range wss {
				n += len(ws.Mutations)
			}
			hooked = append(hooked, n)
			return apply()
		},
		onApply: func(*storage.WriteSet) { applied++ },
	}
	put := func(readSeq uint64, keys ...string) []byte {
		c := &commitCmd{ReadSeq: readSeq, Time: 1, Principal: "p"}
		for _, k := range keys {
			c.WS.Mutations = append(c.WS.Mutations, storage.Mutation{Key: []byte(k), Value: []byte("v")})
		}
		return encodeCommit(c)
	}
	logs := []*raft.Log{
		{Index: 1, Type: raft.LogCommand, Data: put(0, "t/a")},
		{Index: 2, Type: raft.LogNoop},
		{Index: 3, Type: raft.LogCommand, Data: put(0, "t/b", "t/c")},
		{Index: 4, Type: raft.LogCommand, Data: put(0, "t/a")}, // read before 1 wrote t/a
	}
	out := f.ApplyBatch(logs)
	if len(hooked) != 1 || hooked[0] != 4 {
		t.Fatalf("hook calls (mutations each) = %v; want one call with 4", hooked)
	}
	want := []uint64{1, 0, 2, 0}
	for i, r := range out {
		res, _ := r.(applyResult)
		if res.seq != want[i] {
			t.Fatalf("entry %d: seq %d; want %d (%+v)", i, res.seq, want[i], r)
		}
	}
	if res := out[3].(applyResult); !errors.Is(res.err, storage.ErrConflict) {
		t.Fatalf("entry 4: %v; want a conflict", res.err)
	}
	if applied != 2 || db.ReadSeq() != 2 || db.RaftIndex() != 3 {
		t.Fatalf("onApply %d times, seq %d, raft index %d; want 2, 2, 3", applied, db.ReadSeq(), db.RaftIndex())
	}
	// Replayed after a restart: entries at or below the store's raft index
	// are skipped, the rest applied (one commit: its own write set).
	hooked = nil
	out = f.ApplyBatch([]*raft.Log{logs[2], {Index: 5, Type: raft.LogCommand, Data: put(2, "t/d")}})
	if res := out[0].(applyResult); res.seq != 0 || res.err != nil {
		t.Fatalf("replayed entry: %+v; want skipped", res)
	}
	if res := out[1].(applyResult); res.seq != 3 {
		t.Fatalf("new entry: %+v; want seq 3", res)
	}
	if len(hooked) != 1 || hooked[0] != 1 {
		t.Fatalf("hook calls = %v; want one with 1 mutation", hooked)
	}
}

// A batch entry's commits are decided in order as separate commits —
// one conflicting with an earlier commit of the same entry — and carry
// the entry's log index; the entry answers one result per commit, a plain
// commit entry after it one result. Replayed, the batch entry is skipped
// whole.
func TestFSMApplyBatchEntry(t *testing.T) {
	db := openStore(t)
	f := &fsm{db: db, log: slog.New(slog.DiscardHandler)}
	put := func(readSeq uint64, key string) []byte {
		c := &commitCmd{ReadSeq: readSeq, Time: 1, Principal: "p"}
		c.WS.Mutations = []storage.Mutation{{Key: []byte(key), Value: []byte("v")}}
		return encodeCommit(c)
	}
	batch := encodeBatch([][]byte{put(0, "t/a"), put(0, "t/a"), put(0, "t/b")})
	logs := []*raft.Log{
		{Index: 1, Type: raft.LogCommand, Data: batch},
		{Index: 2, Type: raft.LogCommand, Data: put(0, "t/c")},
	}
	out := f.ApplyBatch(logs)
	rs, ok := out[0].([]applyResult)
	if !ok || len(rs) != 3 {
		t.Fatalf("batch entry answered %#v; want 3 results", out[0])
	}
	if rs[0].seq != 1 || rs[0].err != nil || !errors.Is(rs[1].err, storage.ErrConflict) || rs[2].seq != 2 {
		t.Fatalf("batch results %+v; want seq 1, a conflict, seq 2", rs)
	}
	if r := out[1].(applyResult); r.seq != 3 {
		t.Fatalf("commit entry after the batch: %+v; want seq 3", r)
	}
	if db.RaftIndex() != 2 {
		t.Fatalf("raft index %d; want 2", db.RaftIndex())
	}
	out = f.ApplyBatch(logs[:1])
	if r, ok := out[0].(applyResult); !ok || r.seq != 0 || db.ReadSeq() != 3 {
		t.Fatalf("replayed batch entry: %#v, store at seq %d; want skipped", out[0], db.ReadSeq())
	}
}

// TestBatchCommandRoundTrip: a batch entry holds whole commit commands;
// truncated or foreign contents fail to decode.
func TestBatchCommandRoundTrip(t *testing.T) {
	c1 := encodeCommit(&commitCmd{ReadSeq: 1, Principal: "a", WS: storage.WriteSet{Mutations: []storage.Mutation{{Key: []byte("t1"), Value: []byte("x")}}}})
	c2 := encodeCommit(&commitCmd{ReadSeq: 2, Principal: "b", WS: storage.WriteSet{Mutations: []storage.Mutation{{Key: []byte("t2"), Delete: true, Base: 5}}}})
	b := encodeBatch([][]byte{c1, c2})
	typ, body, err := commandType(b)
	if err != nil || typ != cmdBatch {
		t.Fatalf("commandType = %d, %v", typ, err)
	}
	cs, err := decodeBatch(body)
	if err != nil || len(cs) != 2 || cs[0].Principal != "a" || cs[1].WS.Mutations[0].Base != 5 {
		t.Fatalf("decoded %+v, %v", cs, err)
	}
	for i := 0; i < len(body); i++ {
		if _, err := decodeBatch(body[:i]); err == nil {
			t.Fatalf("truncated batch (%d of %d bytes) decoded", i, len(body))
		}
	}
	sig := append([]byte{cmdVersion, cmdSignature}, "not a commit"...)
	if _, err := decodeBatch(encodeBatch([][]byte{c1, sig})[2:]); err == nil {
		t.Fatal("a batch holding a signature decoded")
	}
	if _, err := decodeBatch(encodeBatch([][]byte{c1})[2:]); err == nil {
		t.Fatal("a batch of one decoded (one commit is a plain commit entry)")
	}
}

// memSink is a raft.SnapshotSink into memory (the tar archive path).
type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { return nil }

// A snapshot is taken lazily: Snapshot, which raft calls between applies,
// returns without touching the store, and Persist, which runs while
// applies go on, checkpoints the store as it is then, so the checkpoint
// may hold entries past the snapshot's index. A node restored from it
// skips those entries when raft applies them after the snapshot, and ends
// with the same commits and ledger head as the source.
func TestFSMSnapshotIsLazy(t *testing.T) {
	open := func() *storage.DB {
		db, err := storage.Open(storage.Config{Dir: t.TempDir(), NoWAL: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	newFSM := func(db *storage.DB) *fsm {
		return &fsm{db: db, log: slog.New(slog.DiscardHandler), tmp: filepath.Join(t.TempDir(), "staging")}
	}
	put := func(key string) *raft.Log {
		c := &commitCmd{ReadSeq: 0, Time: 1, Principal: "p"}
		c.WS.Mutations = []storage.Mutation{{Key: []byte(key), Value: []byte("v")}}
		return &raft.Log{Type: raft.LogCommand, Data: encodeCommit(c)}
	}
	var logs []*raft.Log
	for i := range 6 {
		l := put(fmt.Sprintf("t/k%d", i))
		l.Index = uint64(i + 1)
		logs = append(logs, l)
	}
	src := newFSM(open())
	src.ApplyBatch(logs[:3])
	snap, err := src.Snapshot() // raft's snapshot index: 3
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(src.tmp); len(entries) != 0 {
		t.Fatalf("Snapshot made %d checkpoints before Persist: it holds the applies back while it works", len(entries))
	}
	src.ApplyBatch(logs[3:5]) // applied while the snapshot is persisted
	var sink memSink
	if err := snap.Persist(&sink); err != nil || sink.cancelled {
		t.Fatalf("Persist: %v (cancelled %v)", err, sink.cancelled)
	}
	snap.Release()
	src.ApplyBatch(logs[5:])

	dst := newFSM(open())
	if err := dst.Restore(io.NopCloser(&sink.Buffer)); err != nil {
		t.Fatal(err)
	}
	if got := dst.db.RaftIndex(); got != 5 {
		t.Fatalf("restored store at raft index %d; want 5 (the store as Persist found it)", got)
	}
	// raft applies the entries after the snapshot's index: 4 and 5 are
	// in the checkpoint already.
	out := dst.ApplyBatch(logs[3:])
	for i, want := range []uint64{0, 0, 6} {
		if r := out[i].(applyResult); r.seq != want || r.err != nil {
			t.Fatalf("entry %d after the restore: %+v; want seq %d", i+4, r, want)
		}
	}
	if dst.db.ReadSeq() != src.db.ReadSeq() || dst.db.RaftIndex() != src.db.RaftIndex() {
		t.Fatalf("restored node at seq %d, raft index %d; source at %d, %d", dst.db.ReadSeq(), dst.db.RaftIndex(), src.db.ReadSeq(), src.db.RaftIndex())
	}
	se, err1 := src.db.Entry(6)
	de, err2 := dst.db.Entry(6)
	if err1 != nil || err2 != nil || se.LeafHash() != de.LeafHash() {
		t.Fatalf("ledger heads differ: source %v (%v), restored %v (%v)", se, err1, de, err2)
	}
}
