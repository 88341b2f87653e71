package ledger

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
)

// NodeHash hashes two Merkle children (RFC 9162: 0x01 || left || right).
func NodeHash(l, r Hash) Hash {
	var b [1 + 2*len(Hash{})]byte
	b[0] = 0x01
	copy(b[1:], l[:])
	copy(b[1+len(l):], r[:])
	return sha256.Sum256(b[:])
}

// NodeID names a perfect subtree: the 2^Level leaves starting at
// Index<<Level. Level 0 nodes are the leaves.
type NodeID struct {
	Level uint8
	Index uint64
}

// Tree is the append-only Merkle tree's frontier: the roots of the perfect
// subtrees that make up the current tree, one per set bit of its size.
// Appending is O(1) amortized and reports each newly completed perfect
// subtree so that the caller can store it for proofs.
type Tree struct {
	size     uint64
	frontier [64]Hash
}

// Size returns the number of leaves.
func (t *Tree) Size() uint64 { return t.size }

// Append adds a leaf and calls store for it and every perfect subtree it
// completes.
func (t *Tree) Append(leaf Hash, store func(NodeID, Hash)) {
	h := leaf
	idx := t.size
	store(NodeID{0, idx}, h)
	level := uint8(0)
	for n := t.size; n&1 == 1; n >>= 1 {
		h = NodeHash(t.frontier[level], h)
		level++
		idx >>= 1
		store(NodeID{level, idx}, h)
	}
	t.frontier[level] = h
	t.size++
}

// Root returns the Merkle tree hash of all leaves (the empty tree hashes
// to SHA-256 of nothing).
func (t *Tree) Root() Hash {
	if t.size == 0 {
		return sha256.Sum256(nil)
	}
	var root Hash
	have := false
	for level := 0; level < 64; level++ {
		if t.size&(1<<level) == 0 {
			continue
		}
		if !have {
			root, have = t.frontier[level], true
			continue
		}
		root = NodeHash(t.frontier[level], root)
	}
	return root
}

// Restore rebuilds the frontier of a tree of size leaves from stored nodes.
func Restore(size uint64, get func(NodeID) (Hash, error)) (*Tree, error) {
	t := &Tree{size: size}
	var start uint64
	for level := 63; level >= 0; level-- {
		if size&(1<<level) == 0 {
			continue
		}
		h, err := get(NodeID{uint8(level), start >> level})
		if err != nil {
			return nil, err
		}
		t.frontier[level] = h
		start += 1 << level
	}
	return t, nil
}

// ErrProof reports an inclusion proof that does not verify.
var ErrProof = errors.New("ledger: inclusion proof does not verify")

// InclusionProof returns the RFC 9162 audit path for leaf index in the tree
// of the first size leaves, from the leaf upwards. get returns stored
// perfect subtrees.
func InclusionProof(index, size uint64, get func(NodeID) (Hash, error)) ([]Hash, error) {
	if index >= size {
		return nil, fmt.Errorf("ledger: leaf %d is not in a tree of size %d", index, size)
	}
	return path(index, 0, size, get)
}

// path returns PATH(m, D[lo:hi]) for m = index-lo.
func path(index, lo, hi uint64, get func(NodeID) (Hash, error)) ([]Hash, error) {
	n := hi - lo
	if n == 1 {
		return nil, nil
	}
	k := uint64(1) << (bits.Len64(n-1) - 1) // largest power of two < n
	if index-lo < k {
		p, err := path(index, lo, lo+k, get)
		if err != nil {
			return nil, err
		}
		sib, err := subtreeHash(lo+k, hi, get)
		return append(p, sib), err
	}
	p, err := path(index, lo+k, hi, get)
	if err != nil {
		return nil, err
	}
	sib, err := subtreeHash(lo, lo+k, get)
	return append(p, sib), err
}

// subtreeHash returns MTH(D[lo:hi]) from stored perfect subtrees.
func subtreeHash(lo, hi uint64, get func(NodeID) (Hash, error)) (Hash, error) {
	n := hi - lo
	if n&(n-1) == 0 && lo%n == 0 {
		return get(NodeID{uint8(bits.TrailingZeros64(n)), lo / n})
	}
	k := uint64(1) << (bits.Len64(n-1) - 1)
	l, err := subtreeHash(lo, lo+k, get)
	if err != nil {
		return Hash{}, err
	}
	r, err := subtreeHash(lo+k, hi, get)
	if err != nil {
		return Hash{}, err
	}
	return NodeHash(l, r), nil
}

// RootFromProof computes the root implied by a leaf, its index, the tree
// size and an audit path (RFC 9162 section 2.1.3.2).
func RootFromProof(leaf Hash, index, size uint64, proof []Hash) (Hash, error) {
	if index >= size {
		return Hash{}, ErrProof
	}
	fn, sn := index, size-1
	r := leaf
	for _, p := range proof {
		if sn == 0 {
			return Hash{}, ErrProof
		}
		if fn&1 == 1 || fn == sn {
			r = NodeHash(p, r)
			if fn&1 == 0 {
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			r = NodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return Hash{}, ErrProof
	}
	return r, nil
}
