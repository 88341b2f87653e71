package storage

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestSortedBatchOrder: a group's writes reach the pebble batch in key
// order, a key set twice keeps its last value, and the buffer a DB keeps
// between groups stays bounded.
func TestSortedBatchOrder(t *testing.T) {
	pdb, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()

	var s sortedBatch
	// Interleaved as a group writes them: a row, its entry, Merkle nodes.
	for i := 9; i >= 0; i-- {
		s.Set(fmt.Appendf(nil, "t/%d", i), []byte("row"))
		s.Set(fmt.Appendf(nil, "l/%d", i), []byte("entry"))
		s.Set(fmt.Appendf(nil, "n/%d", i%3), fmt.Appendf(nil, "node %d", i))
	}
	b := pdb.NewBatch()
	if err := s.writeTo(b); err != nil {
		t.Fatal(err)
	}
	var prev []byte
	n := 0
	for r := b.Reader(); ; n++ {
		_, k, _, ok, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if prev != nil && bytes.Compare(prev, k) > 0 {
			t.Fatalf("batch holds %q after %q", k, prev)
		}
		prev = append(prev[:0], k...)
	}
	if n != 30 {
		t.Fatalf("batch holds %d writes, want 30", n)
	}
	if err := pdb.Apply(b, pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	// n/0 was set for i = 9, 6, 3, 0, in that order: the last one wins.
	v, closer, err := pdb.Get([]byte("n/0"))
	if err != nil {
		t.Fatal(err)
	}
	if string(v) != "node 0" {
		t.Errorf("n/0 = %q, want the value set last, %q", v, "node 0")
	}
	closer.Close()

	s.reset()
	if len(s.ents) != 0 || len(s.buf) != 0 {
		t.Fatalf("reset left %d writes", len(s.ents))
	}
	s.Set([]byte("k"), make([]byte, maxKeptSortedBatch+1))
	s.reset()
	if s.buf != nil {
		t.Errorf("reset kept a %d-byte buffer", cap(s.buf))
	}
}
