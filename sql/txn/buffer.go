package txn

import (
	"bytes"

	"github.com/RaduBerinde/btreemap"
)

// bufEntry is one buffered change: a new value or a deletion.
type bufEntry struct {
	value  []byte
	delete bool
	base   uint64 // storage.Mutation.Base
}

// buffer holds a transaction's uncommitted writes in key order. Clone is
// O(1) (copy on write), which makes savepoints and statement rollback cheap.
// The tree is made by the first write: a read-only transaction (a point
// select) allocates none.
type buffer struct {
	m *btreemap.BTreeMap[[]byte, bufEntry]
}

func (b buffer) clone() buffer {
	if b.m == nil {
		return buffer{}
	}
	return buffer{m: b.m.Clone()}
}

func (b buffer) get(k []byte) (bufEntry, bool) {
	if b.m == nil {
		return bufEntry{}, false
	}
	_, e, ok := b.m.Get(k)
	return e, ok
}

// noFreeList is every buffer's node free list: an empty one that keeps
// nothing. btreemap.New would make a free list (and its slice) per
// transaction, for nodes a buffer, which is dropped whole, never frees.
var noFreeList = btreemap.NewFreeList[[]byte, bufEntry](0)

func (b *buffer) put(k []byte, e bufEntry) {
	if b.m == nil {
		b.m = btreemap.NewWithFreeList(16, bytes.Compare, noFreeList)
	}
	b.m.ReplaceOrInsert(k, e)
}

func (b buffer) len() int {
	if b.m == nil {
		return 0
	}
	return b.m.Len()
}

// ascend calls f with every buffered change in key order.
func (b buffer) ascend(f func(k []byte, e bufEntry) bool) {
	if b.m != nil {
		b.m.AscendFunc(minKey(), maxKey(), f)
	}
}

// bufKV is a buffered change with its key, as copied out for an iterator.
type bufKV struct {
	key []byte
	bufEntry
}

// rangeCopy returns the buffered changes in [lo, hi). Iterators work on a
// copy so that writes made while a statement scans (UPDATE … WHERE) are not
// seen again by the same scan.
func (b buffer) rangeCopy(lo, hi []byte) []bufKV {
	var out []bufKV
	stop := btreemap.Max[[]byte]()
	if hi != nil {
		stop = btreemap.LT(hi)
	}
	if b.m == nil {
		return nil
	}
	b.m.AscendFunc(btreemap.GE(lo), stop, func(k []byte, e bufEntry) bool {
		out = append(out, bufKV{key: k, bufEntry: e})
		return true
	})
	return out
}
