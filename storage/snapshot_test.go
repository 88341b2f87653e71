package storage

import (
	"path/filepath"
	"testing"

	"github.com/cofferdb/coffer/storage/ledger"
)

// A checkpoint restored into another store gives it the same head, rows,
// ledger and replicated index, and the restored store keeps committing on
// the same chain.
func TestCheckpointRestore(t *testing.T) {
	t.Parallel()
	src := openTest(t, t.TempDir())
	defer src.Close()
	id, err := ledger.NewServiceIdentity("test")
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= 20; i++ {
		ws := &WriteSet{Mutations: []Mutation{put("t/k"+string(rune('a'+i%5)), "v")}}
		if _, err := src.Apply(ws, src.ReadSeq(), Commit{Principal: "p", RaftIndex: i * 2}); err != nil {
			t.Fatal(err)
		}
	}
	sig, err := ledger.SignRoot(id, 20, src.ledger.tree.Root(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.StoreSignature(sig, 41); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cp")
	ri, seq, err := src.Checkpoint(dir)
	if err != nil || ri != 41 || seq != 20 {
		t.Fatalf("Checkpoint = %d, %d, %v; want 41, 20", ri, seq, err)
	}

	dst := openTest(t, t.TempDir())
	defer dst.Close()
	// The destination has its own, different history, which the restore
	// must replace entirely.
	if _, err := dst.Apply(&WriteSet{Mutations: []Mutation{put("t/zz", "gone")}}, 0, Commit{}); err != nil {
		t.Fatal(err)
	}
	if err := dst.Restore(dir); err != nil {
		t.Fatal(err)
	}
	if dst.ReadSeq() != 20 || dst.RaftIndex() != 41 || dst.SignedSize() != 20 {
		t.Fatalf("restored seq %d raft index %d signed %d; want 20, 41, 20", dst.ReadSeq(), dst.RaftIndex(), dst.SignedSize())
	}
	if _, ok, _ := dst.Get([]byte("t/zz"), dst.ReadSeq()); ok {
		t.Fatal("a key of the replaced history survived the restore")
	}
	ws := &WriteSet{Mutations: []Mutation{put("t/next", "v")}}
	a, err := src.Apply(ws, src.ReadSeq(), Commit{Principal: "p", Time: 7})
	if err != nil {
		t.Fatal(err)
	}
	b, err := dst.Apply(ws, dst.ReadSeq(), Commit{Principal: "p", Time: 7})
	if err != nil {
		t.Fatal(err)
	}
	ea, _ := src.Entry(a)
	eb, _ := dst.Entry(b)
	if a != b || ea.LeafHash() != eb.LeafHash() {
		t.Fatalf("after restore the chains diverge: seq %d vs %d", a, b)
	}
	if rep, err := dst.VerifyLedger(id.Cert, nil); err != nil {
		t.Fatalf("restored ledger does not verify: %v (%+v)", err, rep)
	}
}

// A restore interrupted after its first write leaves a marker; Open wipes
// such a store rather than serving half of a snapshot.
func TestInterruptedRestoreIsWiped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openTest(t, dir)
	if _, err := db.Apply(&WriteSet{Mutations: []Mutation{put("t/a", "1")}}, 0, Commit{RaftIndex: 3}); err != nil {
		t.Fatal(err)
	}
	if err := db.pdb.Set(metaRestoringKey, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir)
	defer db.Close()
	if db.ReadSeq() != 0 || db.RaftIndex() != 0 {
		t.Fatalf("after an interrupted restore: seq %d raft index %d; want an empty store", db.ReadSeq(), db.RaftIndex())
	}
}
