package storage

import (
	"github.com/cockroachdb/pebble/v2"
)

// Table boundaries at keyspaces. Most of what a commit writes is appended
// in key order, each stream in its own keyspace: the ledger's entries,
// each Merkle level's nodes, a table's rows under an AUTO_INCREMENT key.
// A memtable holds the tail of every stream, so an sstable flushed from
// it, cut by size alone, can start among the ledger entries and end among
// one table's new rows, and then its key range covers every older row of
// that table. Each compaction of such a table into the level below reads
// and rewrites all the tables there that it overlaps: with 64 connections
// of single-row inserts on a 3-node cluster, the level below L0 read
// 538 MB to write 291 MB in four minutes. Splitting flushes and
// compactions wherever a key's span (spanOf) changes keeps each stream's
// tables apart, so new tails overlap little or nothing below them and
// pebble moves them down instead of rewriting.

// spanPolicy is the data store's pebble SpanPolicyFunc: the default
// policy, ending where startKey's span ends, so that no sstable written
// by a flush or compaction holds keys of two spans.
func spanPolicy(startKey []byte) (pebble.SpanPolicy, []byte, error) {
	return pebble.SpanPolicy{}, PrefixEnd(spanOf(startKey)), nil
}

// spanOf returns the prefix of key that names its span: one table's rows
// ('t' and the table id, below 2^32), one index's entries ('i', table id,
// index id),
// one Merkle level ('n' and the level), the current entries of one such
// span ('c' and the span of the user key), or else the one-byte keyspace
// (ledger entries, signatures, meta, system). A key shorter than its
// span's prefix is cut short with it. With many tables written between
// two flushes a flush makes as many small tables; pebble's compactions
// keep them apart in the levels below too, one or more per SQL table.
func spanOf(key []byte) []byte {
	if len(key) == 0 {
		return key
	}
	n := 1
	switch key[0] {
	case prefixTable, prefixIndex:
		// Table ids come from a counter. A key whose "id" has high
		// bytes set is no table's (tests write 't…' keys freely):
		// splitting at each of those would make a table per key.
		if len(key) < 9 || key[1]|key[2]|key[3]|key[4] != 0 {
			break
		}
		n = 9
		if key[0] == prefixIndex {
			n = 13
		}
	case prefixNode:
		n = 2
	case prefixCurrent:
		n = 1 + len(spanOf(key[1:]))
	}
	return key[:min(n, len(key))]
}
