package txn

import (
	"strings"
	"testing"

	"github.com/cofferdb/coffer/storage"
)

func newDB(t *testing.T) *storage.DB {
	t.Helper()
	db, err := storage.Open(storage.Config{InMemory: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func scan(t *testing.T, tx *Transaction) string {
	t.Helper()
	it, err := tx.NewIter([]byte("t"), []byte("u"))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	for ok := it.First(); ok; ok = it.Next() {
		out = append(out, string(it.Key())+"="+string(it.Value()))
	}
	return strings.Join(out, " ")
}

func TestMergedReadsAndSavepoints(t *testing.T) {
	db := newDB(t)
	if _, err := db.Apply(&storage.WriteSet{Mutations: []storage.Mutation{
		{Key: []byte("ta"), Value: []byte("1")}, {Key: []byte("tc"), Value: []byte("1")},
	}}, 0, storage.Commit{}); err != nil {
		t.Fatal(err)
	}
	tx := newTransaction(1, db, db.ReadSeq(), false)
	tx.Put([]byte("tb"), []byte("2"))
	tx.Delete([]byte("tc"))
	if got, want := scan(t, tx), "ta=1 tb=2"; got != want {
		t.Fatalf("merged scan %q, want %q", got, want)
	}
	tx.CreateSavepoint("sp")
	tx.Put([]byte("td"), []byte("3"))
	tx.StatementBegin()
	tx.Put([]byte("te"), []byte("4"))
	tx.StatementDiscard()
	if got, want := scan(t, tx), "ta=1 tb=2 td=3"; got != want {
		t.Fatalf("after statement rollback %q, want %q", got, want)
	}
	if !tx.RollbackToSavepoint("SP") {
		t.Fatal("savepoint not found (names are case-insensitive)")
	}
	if got, want := scan(t, tx), "ta=1 tb=2"; got != want {
		t.Fatalf("after savepoint rollback %q, want %q", got, want)
	}
	ws := tx.WriteSet()
	if len(ws.Mutations) != 2 || string(ws.Mutations[0].Key) != "tb" || !ws.Mutations[1].Delete {
		t.Fatalf("write set %+v", ws.Mutations)
	}
	// Another transaction started earlier does not see the commit.
	other := newTransaction(2, db, db.ReadSeq(), false)
	if _, err := (LocalProposer{DB: db}).Propose(t.Context(), ws, tx.ReadSeq(), Principal{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	if got, want := scan(t, other), "ta=1 tc=1"; got != want {
		t.Fatalf("older snapshot %q, want %q", got, want)
	}
}

func TestIteratorDoesNotSeeLaterWrites(t *testing.T) {
	db := newDB(t)
	tx := newTransaction(1, db, db.ReadSeq(), false)
	tx.Put([]byte("ta"), []byte("1"))
	it, err := tx.NewIter([]byte("t"), []byte("u"))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	tx.Put([]byte("tb"), []byte("2")) // e.g. an UPDATE writing while it scans
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	if n != 1 {
		t.Fatalf("iterator saw %d keys, want 1", n)
	}
}

// TestAdvanceSnapshot: a transaction's snapshot moves only while it has
// read no rows (catalog reads do not count) and written nothing, and only
// past commits that left the system keyspace alone.
func TestAdvanceSnapshot(t *testing.T) {
	const start, later = 5, 9
	for _, tc := range []struct {
		name      string
		do        func(tx *Transaction)
		systemSeq uint64
		moves     bool
	}{
		{"fresh", func(*Transaction) {}, 0, true},
		{"catalog get", func(tx *Transaction) { _, _, _ = tx.Get([]byte("s\x07tbl")) }, 0, true},
		{"catalog scan", func(tx *Transaction) { _, _ = tx.NewLiveIter([]byte("s"), []byte("t")) }, 0, true},
		{"schema changed since", func(*Transaction) {}, start + 1, false},
		{"schema changed before", func(*Transaction) {}, start, true},
		{"row get", func(tx *Transaction) { _, _, _ = tx.Get([]byte("ta")) }, 0, false},
		{"row read", func(tx *Transaction) { _, _, _ = tx.ReadGet([]byte("ta")) }, 0, false},
		{"row scan", func(tx *Transaction) { _, _ = tx.NewIter([]byte("t"), []byte("u")) }, 0, false},
		{"scan from the catalog on", func(tx *Transaction) { _, _ = tx.NewIter([]byte("s"), []byte("u")) }, 0, false},
		{"write", func(tx *Transaction) { tx.Put([]byte("ta"), []byte("1")) }, 0, false},
		{"read committed", func(tx *Transaction) { tx.latestWrites = true }, 0, false},
	} {
		tx := newTransaction(1, newDB(t), start, false)
		tc.do(tx)
		moved := tx.AdvanceSnapshot(later, tc.systemSeq)
		want := uint64(start)
		if tc.moves {
			want = later
		}
		if moved != tc.moves || tx.ReadSeq() != want {
			t.Errorf("%s: moved %v to %d, want %v and %d", tc.name, moved, tx.ReadSeq(), tc.moves, want)
		}
	}
	tx := newTransaction(1, newDB(t), start, false)
	if tx.AdvanceSnapshot(start-1, 0) || tx.ReadSeq() != start {
		t.Errorf("moved back to %d", tx.ReadSeq())
	}
}
