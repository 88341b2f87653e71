package storage

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cofferdb/coffer/storage/ledger"
)

// TestHeadIsTheNewestEntry: with a ledger, commits write neither a head
// record nor dirty-log records; after a crash the newest ledger entry is
// the head, and the entries after the last checkpoint give the dirty
// log's keys, whose rows read back; a checkpoint writes the head record,
// with the head entry's leaf, as of the sequence it completes.
func TestHeadIsTheNewestEntry(t *testing.T) {
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
	if n := dirtyRecords(t, db); n != 0 {
		t.Fatalf("commits wrote %d dirty-log records", n)
	}

	// A crash: the copy has the entries and no head record.
	crashed := t.TempDir()
	copyDir(t, dir, crashed)
	c := openTest(t, crashed)
	if got := c.AppliedSeq(); got != 30 {
		t.Fatalf("after a crash: applied %d, want 30", got)
	}
	checkFixtureRows(t, c, 30)
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
	c.Close() // a checkpoint: the head record written
	c = openTest(t, crashed)
	if seq, leaf, ok, err := c.readHeadRecord(); err != nil || seq != 31 || !ok || leaf != mustEntry(t, c, 31).LeafHash() {
		t.Fatalf("head record after the checkpoint: %d %v %v; want 31 and entry 31's leaf", seq, ok, err)
	}
	checkFixtureRows(t, c, 30)
	c.Close()

	// An altered head entry that the head record keeps the leaf of does
	// not open for commits.
	flipValue(t, crashed, entryKey(31))
	if c, err := Open(DefaultConfig(crashed)); err == nil {
		c.Close()
		t.Fatal("a store whose head entry does not match the head record opened for commits")
	}
	// One newer than the head record opens (no record keeps its leaf),
	// and verification reports it.
	altered := t.TempDir()
	copyDir(t, dir, altered)
	flipValue(t, altered, entryKey(30))
	c = openTest(t, altered)
	defer c.Close()
	if _, err := c.VerifyLedger(svc.Cert, nil); err == nil {
		t.Fatal("verification passed a store with an altered entry")
	}
}

// dirtyRecords counts db's dirty-log records.
func dirtyRecords(t *testing.T, db *DB) int {
	t.Helper()
	it, err := db.dirtyLog()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n
}

// checkFixtureRows checks the rows of ledgerFixture's first n commits.
func checkFixtureRows(t *testing.T, db *DB, n int) {
	t.Helper()
	for i := range n {
		k := fmt.Sprintf("tk%03d", i)
		_, found, err := db.Get([]byte(k), db.ReadSeq())
		// ledgerFixture's commit 5j+4 deletes the key of commit 5j+3.
		if err != nil || found == (i%5 == 3) {
			t.Fatalf("%s: found %v, %v", k, found, err)
		}
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

// TestOlderDirtyLogsUpgraded: a crashed format 5 or 6 store, whose
// commits listed their keys in dirty-log records (format 6: ending with
// the head entry's leaf; format 5: with none, beside a head record)
// instead of in their entries, opens at the same head with the same rows,
// chains its next commit onto the head, verifies, and after a checkpoint
// has no dirty-log records left.
func TestOlderDirtyLogsUpgraded(t *testing.T) {
	t.Parallel()
	for _, format := range []uint32{5, 6} {
		t.Run(fmt.Sprint("format", format), func(t *testing.T) {
			t.Parallel()
			db, svc, dir := ledgerFixture(t, 12)
			crashed := t.TempDir()
			copyDir(t, dir, crashed)
			db.Close()
			rewriteDirtyLog(t, crashed, format)

			c := openTest(t, crashed)
			if c.format != FormatVersion || c.AppliedSeq() != 12 {
				t.Fatalf("after the upgrade: format %d, applied %d; want %d, 12", c.format, c.AppliedSeq(), FormatVersion)
			}
			if n := dirtyRecords(t, c); n != 12 {
				t.Fatalf("%d dirty-log records after the upgrade, want the 12 written", n)
			}
			checkFixtureRows(t, c, 12)
			if _, err := c.Apply(&WriteSet{Mutations: []Mutation{put("tk900", "v")}}, c.ReadSeq(), Commit{}); err != nil {
				t.Fatal(err)
			}
			if seq, _, _, err := c.readHeadRecord(); err != nil || seq != 13 {
				t.Fatalf("head after a commit: %d, %v; want 13", seq, err)
			}
			if e13, err := c.Entry(13); err != nil || e13.PrevHash != mustEntry(t, c, 12).LeafHash() {
				t.Fatalf("entry 13 does not chain onto entry 12: %v", err)
			}
			if _, err := c.VerifyLedger(svc.Cert, nil); err != nil {
				t.Fatalf("verify after the upgrade: %v", err)
			}
			c.Close()
			c = openTest(t, crashed)
			defer c.Close()
			if n := dirtyRecords(t, c); n != 0 {
				t.Fatalf("%d dirty-log records after a checkpoint", n)
			}
			checkFixtureRows(t, c, 12)
		})
	}
}

// rewriteDirtyLog rewrites a format 7 store as format 5 or 6 wrote it:
// entries without keys, a dirty-log record for each commit after the
// last checkpoint, and in format 5 a head record with the head entry's
// leaf, in format 6 the leaf in the newest record's trailer.
func rewriteDirtyLog(t *testing.T, dir string, format uint32) {
	t.Helper()
	p, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	it, err := p.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixLedger}, UpperBound: []byte{prefixLedger + 1}})
	if err != nil {
		t.Fatal(err)
	}
	b := p.NewBatch()
	var head uint64
	var leaf ledger.Hash
	for ok := it.First(); ok; ok = it.Next() {
		enc, keys := storedEntry(it.Value())
		if len(keys) == 0 {
			t.Fatalf("entry %x lists no keys", it.Key())
		}
		head, leaf = binary.BigEndian.Uint64(it.Key()[1:]), ledger.LeafHash(enc)
		rec := append([]byte(nil), keys...)
		if format == 6 {
			rec = appendDirtyTrailer(rec, leaf, true)
		}
		b.Set(it.Key(), enc, nil)
		b.Set(appendDirtyKey(nil, head), rec, nil)
	}
	it.Close()
	if format == 5 {
		b.Set(metaHeadKey, append(binary.BigEndian.AppendUint64(nil, head), leaf[:]...), nil)
	}
	b.Set(metaFormatKey, binary.BigEndian.AppendUint32(nil, format), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
}
