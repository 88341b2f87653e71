package ledger

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"
)

// Identity is a key and its certificate: the service identity (self-signed,
// the root every verifier trusts) or a node identity (endorsed by the
// service identity).
type Identity struct {
	Key  *ecdsa.PrivateKey
	Cert *x509.Certificate
}

// NewServiceIdentity creates the service key and its self-signed CA
// certificate, valid for ten years.
func NewServiceIdentity(name string) (*Identity, error) {
	return newIdentity(pkix.Name{CommonName: name + " service"}, nil, true)
}

// NewNodeIdentity creates a node key and a certificate endorsed by service.
func NewNodeIdentity(nodeID string, service *Identity) (*Identity, error) {
	return newIdentity(nodeSubject(nodeID), service, false)
}

// NewPendingNodeIdentity creates a node key with a self-signed certificate:
// the identity a joining node presents until the service endorses its key
// (EndorseNode) on admission.
func NewPendingNodeIdentity(nodeID string) (*Identity, error) {
	return newIdentity(nodeSubject(nodeID), nil, false)
}

// EndorseNode certifies a node's public key with the service identity.
func EndorseNode(nodeID string, pub *ecdsa.PublicKey, service *Identity) (*x509.Certificate, error) {
	return certify(nodeSubject(nodeID), pub, service, false, nil)
}

func nodeSubject(nodeID string) pkix.Name { return pkix.Name{CommonName: "coffer node " + nodeID} }

// NodeIDOf returns the node id a node certificate names, or "".
func NodeIDOf(cert *x509.Certificate) string {
	id, ok := strings.CutPrefix(cert.Subject.CommonName, "coffer node ")
	if !ok {
		return ""
	}
	return id
}

func newIdentity(subject pkix.Name, parent *Identity, ca bool) (*Identity, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	cert, err := certify(subject, &key.PublicKey, parent, ca, key)
	if err != nil {
		return nil, err
	}
	return &Identity{Key: key, Cert: cert}, nil
}

// certify makes a certificate for pub, signed by parent, or self-signed
// with self when parent is nil.
func certify(subject pkix.Name, pub *ecdsa.PublicKey, parent *Identity, ca bool, self *ecdsa.PrivateKey) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		BasicConstraintsValid: true,
		IsCA:                  ca,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if ca {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	signerCert, signerKey := tmpl, self
	if parent != nil {
		signerCert, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, pub, signerKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// CertPEM returns the certificate in PEM.
func (id *Identity) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.Cert.Raw})
}

// KeyPEM returns the private key in PEM.
func (id *Identity) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(id.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// Save writes the certificate to certPath (0644) and the key to keyPath
// (0600).
func (id *Identity) Save(certPath, keyPath string) error {
	k, err := id.KeyPEM()
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, k, 0o600); err != nil {
		return err
	}
	return os.WriteFile(certPath, id.CertPEM(), 0o644)
}

// LoadIdentity reads an identity written by Save.
func LoadIdentity(certPath, keyPath string) (*Identity, error) {
	c, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	k, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	id, err := ParseIdentityPEM(c, k)
	if err != nil {
		return nil, fmt.Errorf("ledger: %s, %s: %w", certPath, keyPath, err)
	}
	return id, nil
}

// ParseIdentityPEM parses a certificate and its key, as CertPEM and KeyPEM
// write them.
func ParseIdentityPEM(certPEM, keyPEM []byte) (*Identity, error) {
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(keyPEM)
	if blk == nil {
		return nil, errors.New("ledger: no PEM key")
	}
	key, err := x509.ParseECPrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("ledger: the key does not match the certificate")
	}
	return &Identity{Key: key, Cert: cert}, nil
}

// LoadCert reads one PEM certificate.
func LoadCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseCertPEM(b)
}

// ParseCertPEM parses one PEM certificate.
func ParseCertPEM(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("ledger: no PEM certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// Endorsed checks that node's certificate was issued by service.
func Endorsed(node, service *x509.Certificate) error {
	pool := x509.NewCertPool()
	pool.AddCert(service)
	_, err := node.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fmt.Errorf("ledger: node certificate %q is not endorsed by the service identity: %w", node.Subject.CommonName, err)
	}
	return nil
}
