package ledger

import (
	"crypto/sha256"
	"fmt"
	"testing"
)

// mth is RFC 9162's Merkle tree hash, computed naively.
func mth(leaves []Hash) Hash {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return NodeHash(mth(leaves[:k]), mth(leaves[k:]))
}

func TestTreeAgainstNaiveHashAndProofs(t *testing.T) {
	t.Parallel()
	var tree Tree
	nodes := map[NodeID]Hash{}
	get := func(id NodeID) (Hash, error) {
		h, ok := nodes[id]
		if !ok {
			return Hash{}, fmt.Errorf("missing node %+v", id)
		}
		return h, nil
	}
	var leaves []Hash
	for n := 1; n <= 70; n++ {
		leaf := LeafHash([]byte(fmt.Sprint("entry", n)))
		leaves = append(leaves, leaf)
		tree.Append(leaf, func(id NodeID, h Hash) { nodes[id] = h })
		root := tree.Root()
		if want := mth(leaves); root != want {
			t.Fatalf("size %d: root %s, want %s", n, root, want)
		}
		restored, err := Restore(uint64(n), get)
		if err != nil || restored.Root() != root {
			t.Fatalf("size %d: restore: %v", n, err)
		}
		for i := 0; i < n; i++ {
			proof, err := InclusionProof(uint64(i), uint64(n), get)
			if err != nil {
				t.Fatal(err)
			}
			got, err := RootFromProof(leaves[i], uint64(i), uint64(n), proof)
			if err != nil || got != root {
				t.Fatalf("size %d leaf %d: proof gives %s (%v), want %s", n, i, got, err, root)
			}
			// Any single flipped bit of the proof, the leaf or the index breaks it.
			for j := range proof {
				bad := append([]Hash(nil), proof...)
				bad[j][j%32] ^= 1
				if r, err := RootFromProof(leaves[i], uint64(i), uint64(n), bad); err == nil && r == root {
					t.Fatalf("size %d leaf %d: tampered proof step %d verified", n, i, j)
				}
			}
			badLeaf := leaves[i]
			badLeaf[0] ^= 0x80
			if r, _ := RootFromProof(badLeaf, uint64(i), uint64(n), proof); r == root {
				t.Fatalf("size %d leaf %d: tampered leaf verified", n, i)
			}
		}
	}
}

func TestEntryRoundTrip(t *testing.T) {
	t.Parallel()
	e := &Entry{Version: EntryVersion, Seq: 42, Principal: "alice", CommittedAt: 1700000000123456789, Kind: KindData}
	e.PrevHash[0], e.WriteSetHash[31] = 1, 2
	got, err := DecodeEntry(e.Encode())
	if err != nil || *got != *e {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	enc := e.Encode()
	for i := range enc {
		bad := append([]byte(nil), enc...)
		bad[i] ^= 0x01
		if d, err := DecodeEntry(bad); err == nil && d.LeafHash() == e.LeafHash() {
			t.Fatalf("flip at byte %d not detected", i)
		}
	}
}
