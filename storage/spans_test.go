package storage

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cofferdb/coffer/storage/ledger"
)

func TestSpanOf(t *testing.T) {
	row := append(AppendTablePrefix(nil, 7), 0x03, 1, 2, 3)
	idx := append(IndexPrefix(7, 2), 0x07, 'a', 0, 0)
	cases := []struct {
		key, want []byte
	}{
		{nil, nil},
		{row, row[:9]},
		{row[:5], row[:1]}, // too short for a table id
		{[]byte("tk001\x00\x00\x00\x00"), []byte("t")}, // no table's key: one span
		{append([]byte("ik"), row[1:]...), []byte("i")},
		{idx, idx[:13]},
		{append([]byte{prefixCurrent}, row...), append([]byte{prefixCurrent}, row[:9]...)},
		{append([]byte{prefixCurrent}, idx...), append([]byte{prefixCurrent}, idx[:13]...)},
		{[]byte{prefixCurrent}, []byte{prefixCurrent}},
		{nodeKey(ledger.NodeID{Level: 3, Index: 99}), []byte{prefixNode, 3}},
		{entryKey(12), []byte{prefixLedger}},
		{signatureKey(12), []byte{prefixSignature}},
		{metaHeadKey, []byte{prefixMeta}},
		{SystemKey("catalog"), []byte{prefixSystem}},
	}
	for _, c := range cases {
		if got := spanOf(c.key); !bytes.Equal(got, c.want) {
			t.Errorf("spanOf(%x) = %x, want %x", c.key, got, c.want)
		}
	}
	// The policy's end is past every key of the span and before the next.
	_, end, _ := spanPolicy(row)
	if bytes.Compare(end, append(AppendTablePrefix(nil, 7), 0xff, 0xff)) <= 0 || bytes.Compare(end, AppendTablePrefix(nil, 8)) > 0 {
		t.Errorf("end of table 7's span: %x", end)
	}
}

// TestFlushKeepsSpansApart: after commits that append to two tables, the
// ledger and the meta keys, no flushed sstable holds keys of two spans.
func TestFlushKeepsSpansApart(t *testing.T) {
	db := openTest(t, t.TempDir())
	defer db.Close()
	pad := bytes.Repeat([]byte("x"), 100)
	for i := range 2000 {
		var ws WriteSet
		for _, table := range []uint64{7, 9} {
			k, _ := AppendKeyValue(AppendTablePrefix(nil, table), int64(i))
			ws.Mutations = append(ws.Mutations, Mutation{Key: k, Value: pad})
		}
		if _, err := db.Apply(&ws, db.ReadSeq(), Commit{Principal: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.pdb.Flush(); err != nil {
		t.Fatal(err)
	}
	levels, err := db.pdb.SSTables()
	if err != nil {
		t.Fatal(err)
	}
	spans := map[string]bool{}
	for _, files := range levels {
		for _, f := range files {
			lo, hi := f.Smallest.UserKey, f.Largest.UserKey
			if !bytes.Equal(spanOf(lo), spanOf(hi)) {
				t.Errorf("sstable %s holds %x … %x, two spans", f.FileNum, lo, hi)
			}
			spans[fmt.Sprintf("%x", spanOf(lo))] = true
		}
	}
	// Both tables, the ledger, its nodes and the meta keys were flushed.
	if len(spans) < 5 {
		t.Errorf("flushed spans %v, want at least 5", spans)
	}
}
