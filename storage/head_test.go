package storage

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cofferdb/coffer/storage/ledger"
)

// TestHeadIsTheNewestDirtyRecord: commits write no head record; after a
// crash the newest dirty-log record names the head and its entry's leaf,
// which Open checks; a checkpoint writes the head record as of the
// sequence it completes, which names the head once the records it
// covers are gone.
func TestHeadIsTheNewestDirtyRecord(t *testing.T) {
	t.Parallel()
	db, svc, dir := ledgerFixture(t, 30)
	defer db.Close()
	if seq, _, _, err := db.readHeadRecord(); err != nil || seq != 30 {
		t.Fatalf("head %d, %v; want 30", seq, err)
	}
	if _, closer, err := db.pdb.Get(metaHeadKey); err == nil {
		closer.Close()
		t.Fatal("commits wrote a head record")
	}

	// A crash: the copy has the dirty log and no head record.
	crashed := t.TempDir()
	copyDir(t, dir, crashed)
	c := openTest(t, crashed)
	if got := c.AppliedSeq(); got != 30 {
		t.Fatalf("after a crash: applied %d, want 30", got)
	}
	seq, err := c.Apply(&WriteSet{Mutations: []Mutation{put("tk900", "after")}}, c.ReadSeq(), Commit{})
	if err != nil || seq != 31 {
		t.Fatalf("commit after a crash: seq %d, %v; want 31", seq, err)
	}
	if e31, err := c.Entry(31); err != nil || e31.PrevHash != mustEntry(t, c, 30).LeafHash() {
		t.Fatalf("entry 31 does not chain onto entry 30: %v", err)
	}
	if _, err := c.VerifyLedger(svc.Cert, nil); err != nil {
		t.Fatalf("verify after a crash: %v", err)
	}
	c.Close() // a checkpoint: the dirty log is emptied, the head record written
	c = openTest(t, crashed)
	it, err := c.dirtyLog()
	if err != nil {
		t.Fatal(err)
	}
	if it.First() {
		t.Errorf("dirty log not empty after a closing checkpoint: %x", it.Key())
	}
	it.Close()
	if seq, leaf, ok, err := c.readHeadRecord(); err != nil || seq != 31 || !ok || leaf != mustEntry(t, c, 31).LeafHash() {
		t.Fatalf("head record after the checkpoint: %d %v %v; want 31 and entry 31's leaf", seq, ok, err)
	}
	c.Close()

	// An altered head entry, with the head in a dirty record, does not
	// open for commits.
	altered := t.TempDir()
	copyDir(t, dir, altered)
	flipValue(t, altered, entryKey(30))
	cfg := DefaultConfig(altered)
	if c, err := Open(cfg); err == nil {
		c.Close()
		t.Fatal("a store whose head entry does not match the dirty log opened for commits")
	}
}

func mustEntry(t *testing.T, db *DB, seq uint64) *ledger.Entry {
	t.Helper()
	e, err := db.Entry(seq)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestDirtyLogUpgradedToFormat6: a format 5 store's dirty-log records
// (no trailer) get one naming no leaf, beside the head record written
// with them; the store opens at the same head with the same current
// entries, and its next commits name the head in the dirty log.
func TestDirtyLogUpgradedToFormat6(t *testing.T) {
	t.Parallel()
	db, svc, dir := ledgerFixture(t, 12)
	crashed := t.TempDir()
	copyDir(t, dir, crashed)
	db.Close()
	// Rewrite the crashed copy as format 5 wrote it: records without a
	// trailer, and a head record with the head entry's leaf.
	p, err := pebble.Open(crashed, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	it, err := p.NewIter(&pebble.IterOptions{LowerBound: metaDirtyPrefix, UpperBound: PrefixEnd(metaDirtyPrefix)})
	if err != nil {
		t.Fatal(err)
	}
	b := p.NewBatch()
	var headSeq uint64
	var headLeaf []byte
	for ok := it.First(); ok; ok = it.Next() {
		keys, leaf, _, err := splitDirtyRecord(it.Value())
		if err != nil {
			t.Fatal(err)
		}
		headSeq, headLeaf = binary.BigEndian.Uint64(it.Key()[len(metaDirtyPrefix):]), leaf[:]
		b.Set(it.Key(), keys, nil)
	}
	it.Close()
	if headSeq != 12 {
		t.Fatalf("newest dirty record %d, want 12", headSeq)
	}
	b.Set(metaHeadKey, append(binary.BigEndian.AppendUint64(nil, headSeq), headLeaf...), nil)
	b.Set(metaFormatKey, binary.BigEndian.AppendUint32(nil, 5), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	p.Close()

	c := openTest(t, crashed)
	defer c.Close()
	if c.format != FormatVersion || c.AppliedSeq() != 12 {
		t.Fatalf("after the upgrade: format %d, applied %d; want %d, 12", c.format, c.AppliedSeq(), FormatVersion)
	}
	for i := range 12 {
		k := fmt.Sprintf("tk%03d", i)
		_, found, err := c.Get([]byte(k), c.ReadSeq())
		// ledgerFixture's commit 5j+4 deletes the key of commit 5j+3.
		if err != nil || found == (i%5 == 3) {
			t.Fatalf("%s after the upgrade: found %v, %v", k, found, err)
		}
	}
	if _, err := c.Apply(&WriteSet{Mutations: []Mutation{put("tk900", "v")}}, c.ReadSeq(), Commit{}); err != nil {
		t.Fatal(err)
	}
	if seq, _, ok, err := c.readHeadRecord(); err != nil || seq != 13 || !ok {
		t.Fatalf("head after a commit: %d %v %v; want 13 with a leaf", seq, ok, err)
	}
	if _, err := c.VerifyLedger(svc.Cert, nil); err != nil {
		t.Fatalf("verify after the upgrade: %v", err)
	}
}
