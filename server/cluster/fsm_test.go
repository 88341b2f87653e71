package cluster

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/cofferdb/coffer/storage"
)

// A batch of committed entries is applied in log order, with the applying
// hook called once around the whole batch with the union of its write sets;
// a conflicting commit is rejected without a sequence, entries the store
// already holds are skipped, and onApply sees every applied commit.
func TestFSMApplyBatch(t *testing.T) {
	db := openStore(t)
	var hooked []int // mutations the hook saw, per call
	var applied int
	f := &fsm{db: db, log: slog.New(slog.DiscardHandler),
		applying: func(ws *storage.WriteSet, apply func() error) error {
			hooked = append(hooked, len(ws.Mutations))
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
