package cluster

import (
	"reflect"
	"testing"

	"github.com/cofferdb/coffer/storage"
)

func TestCommitCommandRoundTrip(t *testing.T) {
	c := &commitCmd{ReadSeq: 42, Time: -5, Principal: "alice", Kind: "data", WS: storage.WriteSet{
		Mutations: []storage.Mutation{{Key: []byte("t1"), Value: []byte("v")}, {Key: []byte("t2"), Delete: true}, {Key: []byte("t3"), Value: []byte{}}},
		Checks:    [][]byte{[]byte("s/x")},
	}}
	b := encodeCommit(c)
	typ, body, err := commandType(b)
	if err != nil || typ != cmdCommit {
		t.Fatalf("commandType = %d, %v", typ, err)
	}
	got, err := decodeCommit(body)
	if err != nil {
		t.Fatal(err)
	}
	if got.ReadSeq != c.ReadSeq || got.Time != c.Time || got.Principal != c.Principal || got.Kind != c.Kind || len(got.WS.Mutations) != 3 ||
		!reflect.DeepEqual(got.WS.Checks, c.WS.Checks) || !got.WS.Mutations[1].Delete || string(got.WS.Mutations[0].Value) != "v" {
		t.Fatalf("round trip: got %+v, want %+v", got, c)
	}
	// Every truncation is an error, never a panic or a partial command.
	for i := 0; i < len(body); i++ {
		if _, err := decodeCommit(body[:i]); err == nil {
			t.Fatalf("truncated command (%d of %d bytes) decoded", i, len(body))
		}
	}
}
