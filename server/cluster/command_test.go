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

// TestCommitCommandBases: mutation bases survive the log; a commit without
// one is still written as version 1 (readable by builds before bases), one
// with a base as version 2.
func TestCommitCommandBases(t *testing.T) {
	for _, based := range []bool{false, true} {
		c := &commitCmd{ReadSeq: 7, WS: storage.WriteSet{Mutations: []storage.Mutation{
			{Key: []byte("t1"), Value: []byte("v")}, {Key: []byte("t2"), Delete: true}, {Key: []byte("t3"), Value: []byte("w")}}}}
		want := byte(cmdVersion)
		if based {
			c.WS.Mutations[1].Base, c.WS.Mutations[2].Base = 9, 1<<40
			want = cmdVersion2
		}
		b := encodeCommit(c)
		if b[0] != want {
			t.Fatalf("based=%v: version %d, want %d", based, b[0], want)
		}
		_, body, err := commandType(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeCommit(body)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.WS.Mutations, c.WS.Mutations) {
			t.Fatalf("based=%v: mutations %+v, want %+v", based, got.WS.Mutations, c.WS.Mutations)
		}
		for i := 0; i < len(body); i++ {
			if _, err := decodeCommit(body[:i]); err == nil {
				t.Fatalf("based=%v: truncated command (%d of %d bytes) decoded", based, i, len(body))
			}
		}
	}
	if _, _, err := commandType([]byte{3, cmdCommit}); err == nil {
		t.Fatal("an unknown command version was accepted")
	}
}
