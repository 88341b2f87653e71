package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// TestWriteSetHasherEncoding pins the write set hash to the format's
// encoding, for small mutations (hashed from a stack buffer) and large ones.
func TestWriteSetHasherEncoding(t *testing.T) {
	type mut struct {
		key, value []byte
		del        bool
	}
	big := bytes.Repeat([]byte{7}, 300)
	cases := [][]mut{
		nil,
		{{key: []byte("k"), value: []byte("v")}},
		{{key: []byte("a"), del: true}, {key: []byte("b"), value: nil}},
		{{key: big, value: []byte("x")}, {key: []byte("k"), value: big}, {key: big, del: true}},
	}
	for i, ms := range cases {
		var want []byte
		var w, enc WriteSetHasher // the zero value is ready to use
		var scratch []byte
		for _, m := range ms {
			scratch = AppendMutation(scratch[:0], m.key, m.value, m.del)
			enc.AddEncoded(scratch)
			want = binary.AppendUvarint(want, uint64(len(m.key)))
			want = append(want, m.key...)
			if m.del {
				want = append(want, 0)
			} else {
				want = append(want, 1)
				want = binary.AppendUvarint(want, uint64(len(m.value)))
				want = append(want, m.value...)
			}
			w.Add(m.key, m.value, m.del)
		}
		if got := w.Sum(); got != sha256.Sum256(want) {
			t.Errorf("case %d: write set hash %s, want %x", i, got, sha256.Sum256(want))
		}
		if got := enc.Sum(); got != sha256.Sum256(want) {
			t.Errorf("case %d: write set hash from AddEncoded %s, want %x", i, got, sha256.Sum256(want))
		}
		if got := NewWriteSetHasher(); len(ms) == 0 && got.Sum() != w.Sum() {
			t.Errorf("empty hashers differ")
		}
	}
}

// TestLeafAndNodeHash pins the leaf and node hashes to RFC 9162 for short
// and long inputs.
func TestLeafAndNodeHash(t *testing.T) {
	for _, n := range []int{0, 1, 92, 254, 255, 256, 1000} {
		enc := bytes.Repeat([]byte{byte(n)}, n)
		if got, want := LeafHash(enc), Hash(sha256.Sum256(append([]byte{0}, enc...))); got != want {
			t.Errorf("LeafHash of %d bytes = %s, want %s", n, got, want)
		}
	}
	l, r := Hash{1, 2}, Hash{3, 4}
	want := sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
	if got := NodeHash(l, r); got != Hash(want) {
		t.Errorf("NodeHash = %s, want %x", got, want)
	}
}

// TestDecodeEntryLink agrees with DecodeEntry on good and bad encodings.
func TestDecodeEntryLink(t *testing.T) {
	e := Entry{Version: EntryVersion, Seq: 42, PrevHash: Hash{9}, WriteSetHash: Hash{8}, Principal: "alice", CommittedAt: 7, Kind: KindData}
	good := e.Encode()
	encs := [][]byte{good, good[:len(good)-1], append(append([]byte(nil), good...), 0), good[:80], nil}
	bad := append([]byte(nil), good...)
	bad[0] = 2
	encs = append(encs, bad)
	long := append([]byte(nil), good...)
	long[81] = 200 // kind length beyond the end
	encs = append(encs, long)
	for i, enc := range encs {
		d, derr := DecodeEntry(enc)
		l, lerr := DecodeEntryLink(enc)
		if (derr == nil) != (lerr == nil) {
			t.Fatalf("encoding %d: DecodeEntry error %v, DecodeEntryLink error %v", i, derr, lerr)
		}
		if derr == nil && (l.Seq != d.Seq || l.PrevHash != d.PrevHash || l.WriteSetHash != d.WriteSetHash) {
			t.Fatalf("encoding %d: link %+v, entry %+v", i, l, d)
		}
	}
	if d, err := DecodeEntry(good); err != nil || *d != e {
		t.Fatalf("DecodeEntry = %+v, %v; want %+v", d, err, e)
	}
}

func BenchmarkLeafHash(b *testing.B) {
	enc := (&Entry{Version: EntryVersion, Seq: 1, Principal: "bench", Kind: KindData}).Encode()
	b.ReportAllocs()
	for b.Loop() {
		LeafHash(enc)
	}
}

func BenchmarkNodeHash(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		NodeHash(Hash{1}, Hash{2})
	}
}

func BenchmarkWriteSetHasher(b *testing.B) {
	key, value := bytes.Repeat([]byte{1}, 17), bytes.Repeat([]byte{2}, 101)
	b.Run("Add", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var w WriteSetHasher
			w.Add(key, value, false)
			w.Sum()
		}
	})
	b.Run("AddEncoded", func(b *testing.B) {
		b.ReportAllocs()
		var scratch []byte
		for b.Loop() {
			var w WriteSetHasher
			scratch = AppendMutation(scratch[:0], key, value, false)
			w.AddEncoded(scratch)
			w.Sum()
		}
	})
}

func BenchmarkDecodeEntryLink(b *testing.B) {
	enc := (&Entry{Version: EntryVersion, Seq: 1, Principal: "bench", Kind: KindData}).Encode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEntryLink(enc); err != nil {
			b.Fatal(err)
		}
	}
}
