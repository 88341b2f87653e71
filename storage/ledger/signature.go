package ledger

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// SignedRoot is a signature entry: a node's signature over the Merkle root
// of the first Size entries.
type SignedRoot struct {
	Size      uint64 `json:"size"`
	Root      Hash   `json:"root"`
	SignedAt  int64  `json:"signed_at_unix_nano"`
	Signature []byte `json:"signature"` // ASN.1 ECDSA P-256 over rootDigest
	NodeCert  []byte `json:"node_cert"` // DER
}

// ErrBadSignature reports a signature that does not verify.
var ErrBadSignature = errors.New("ledger: bad root signature")

func rootDigest(size uint64, root Hash) []byte {
	h := sha256.New()
	h.Write([]byte("coffer-ledger-root-v1"))
	h.Write(binary.BigEndian.AppendUint64(nil, size))
	h.Write(root[:])
	return h.Sum(nil)
}

// SignRoot signs the root of a tree of size entries with node.
func SignRoot(node *Identity, size uint64, root Hash, at int64) (*SignedRoot, error) {
	sig, err := ecdsa.SignASN1(rand.Reader, node.Key, rootDigest(size, root))
	if err != nil {
		return nil, err
	}
	return &SignedRoot{Size: size, Root: root, SignedAt: at, Signature: sig, NodeCert: node.Cert.Raw}, nil
}

// Verify checks the signature with the node certificate it carries and,
// when service is not nil, that the service endorsed that certificate.
func (s *SignedRoot) Verify(service *x509.Certificate) error {
	cert, err := x509.ParseCertificate(s.NodeCert)
	if err != nil {
		return fmt.Errorf("ledger: signature at size %d: node certificate: %w", s.Size, err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("ledger: signature at size %d: node key is not ECDSA", s.Size)
	}
	if !ecdsa.VerifyASN1(pub, rootDigest(s.Size, s.Root), s.Signature) {
		return fmt.Errorf("%w at size %d", ErrBadSignature, s.Size)
	}
	if service != nil {
		return Endorsed(cert, service)
	}
	return nil
}

// Encode returns the stored form of a signature entry.
func (s *SignedRoot) Encode() []byte {
	b, _ := json.Marshal(s)
	return b
}

// DecodeSignedRoot decodes a stored signature entry.
func DecodeSignedRoot(b []byte) (*SignedRoot, error) {
	var s SignedRoot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("ledger: corrupt signature entry: %w", err)
	}
	return &s, nil
}
