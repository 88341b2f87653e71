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
	const label = "coffer-ledger-root-v1"
	var b [len(label) + 8 + len(Hash{})]byte
	copy(b[:], label)
	binary.BigEndian.PutUint64(b[len(label):], size)
	copy(b[len(label)+8:], root[:])
	d := sha256.Sum256(b[:])
	return d[:]
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
	return NewRootVerifier(service).Verify(s)
}

// RootVerifier checks signature entries as SignedRoot.Verify does, but
// parses and checks the endorsement of each distinct node certificate only
// once: a ledger carries the same few certificates in every signature.
type RootVerifier struct {
	service *x509.Certificate
	certs   map[string]*nodeCert // by DER
}

// nodeCert is a node certificate's key, or why it is unusable.
type nodeCert struct {
	pub       *ecdsa.PublicKey
	err       error // parse error or key type, reported before the signature
	endorsing error // the service's verdict, reported after the signature
}

// NewRootVerifier returns a verifier that, when service is not nil, also
// requires each node certificate to be endorsed by service.
func NewRootVerifier(service *x509.Certificate) *RootVerifier {
	return &RootVerifier{service: service, certs: map[string]*nodeCert{}}
}

// Verify checks one signature entry.
func (v *RootVerifier) Verify(s *SignedRoot) error {
	nc, ok := v.certs[string(s.NodeCert)]
	if !ok {
		nc = v.check(s.NodeCert)
		v.certs[string(s.NodeCert)] = nc
	}
	if nc.err != nil {
		return fmt.Errorf("ledger: signature at size %d: %w", s.Size, nc.err)
	}
	if !ecdsa.VerifyASN1(nc.pub, rootDigest(s.Size, s.Root), s.Signature) {
		return fmt.Errorf("%w at size %d", ErrBadSignature, s.Size)
	}
	return nc.endorsing
}

func (v *RootVerifier) check(der []byte) *nodeCert {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return &nodeCert{err: fmt.Errorf("node certificate: %w", err)}
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return &nodeCert{err: errors.New("node key is not ECDSA")}
	}
	nc := &nodeCert{pub: pub}
	if v.service != nil {
		nc.endorsing = Endorsed(cert, v.service)
	}
	return nc
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
