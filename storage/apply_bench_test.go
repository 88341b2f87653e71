package storage

import (
	"encoding/binary"
	"testing"
)

// BenchmarkApplyLoneInsert is the commit path of a lone single-row
// insert with the ledger on, without the WAL's sync: the batch built,
// applied to pebble's WAL buffer and memtable, and the overlay updated.
func BenchmarkApplyLoneInsert(b *testing.B) {
	db := openTest(b, b.TempDir())
	defer db.Close()
	row := make([]byte, 140)
	key := []byte("t\x00\x00\x00\x00\x00\x00\x00\x07\x03")
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k := binary.BigEndian.AppendUint64(key[:len(key):len(key)], uint64(i)^1<<63)
		ws := &WriteSet{Mutations: []Mutation{{Key: k, Value: row}}}
		if _, err := db.Apply(ws, db.ReadSeq(), Commit{Principal: "admin"}); err != nil {
			b.Fatal(err)
		}
	}
}
