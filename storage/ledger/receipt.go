package ledger

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
)

// Receipt proves offline that a transaction was committed: its entry, the
// Merkle path from its leaf to a signed root, and the signature with the
// signing node's certificate. Checking it needs only the service
// certificate. It carries hashes, never row data.
type Receipt struct {
	Version   int         `json:"version"`
	Entry     Entry       `json:"entry"`
	LeafHash  Hash        `json:"leaf_hash"`
	LeafIndex uint64      `json:"leaf_index"`
	Proof     []Hash      `json:"proof"`
	Signature *SignedRoot `json:"signature"`
}

// Verify checks the receipt against the service certificate and returns
// the entry it proves.
func (r *Receipt) Verify(service *x509.Certificate) (*Entry, error) {
	if r.Version != 1 {
		return nil, fmt.Errorf("ledger: receipt version %d not supported", r.Version)
	}
	if r.Signature == nil {
		return nil, fmt.Errorf("ledger: receipt has no signature")
	}
	leaf := r.Entry.LeafHash()
	if leaf != r.LeafHash {
		return nil, fmt.Errorf("ledger: receipt entry does not hash to its leaf hash")
	}
	if r.LeafIndex != r.Entry.Seq-1 {
		return nil, fmt.Errorf("ledger: receipt leaf index %d does not match seq %d", r.LeafIndex, r.Entry.Seq)
	}
	root, err := RootFromProof(leaf, r.LeafIndex, r.Signature.Size, r.Proof)
	if err != nil {
		return nil, err
	}
	if root != r.Signature.Root {
		return nil, fmt.Errorf("%w: path leads to %s, signed root is %s", ErrProof, root, r.Signature.Root)
	}
	if err := r.Signature.Verify(service); err != nil {
		return nil, err
	}
	return &r.Entry, nil
}

// MarshalIndent returns the receipt as indented JSON.
func (r *Receipt) MarshalIndent() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }
