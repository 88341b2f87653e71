package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/cofferdb/coffer/storage/ledger"
)

// Credentials is the TLS identity a node presents to its peers: its node key
// and certificate, followed by the service certificate that endorses it.
// SetIdentity replaces the node identity in every tls.Config built from the
// Credentials, for the connections that start afterwards: a joining node
// starts with its own unendorsed key and receives its endorsed certificate
// once admitted.
type Credentials struct {
	serviceCert *x509.Certificate
	node        atomic.Pointer[ledger.Identity]
	cert        atomic.Pointer[tls.Certificate]
}

// NewCredentials returns the credentials of node in the service whose
// certificate is serviceCert (nil while a joiner does not know it yet: the
// chain it presents is then its own certificate alone).
func NewCredentials(node *ledger.Identity, serviceCert *x509.Certificate) *Credentials {
	c := &Credentials{serviceCert: serviceCert}
	c.SetIdentity(node)
	return c
}

// SetIdentity replaces the node identity.
func (c *Credentials) SetIdentity(node *ledger.Identity) {
	chain := [][]byte{node.Cert.Raw}
	if c.serviceCert != nil && !node.Cert.Equal(c.serviceCert) {
		chain = append(chain, c.serviceCert.Raw)
	}
	c.node.Store(node)
	c.cert.Store(&tls.Certificate{Certificate: chain, PrivateKey: node.Key, Leaf: node.Cert})
}

// Identity returns the current node identity.
func (c *Credentials) Identity() *ledger.Identity { return c.node.Load() }

// ServiceCert returns the service certificate, nil if unknown.
func (c *Credentials) ServiceCert() *x509.Certificate { return c.serviceCert }

// ServerTLS returns the configuration a Mux serves with: TLS 1.3, the node
// certificate and the service certificate as its chain, and any client
// certificate requested. Whether the client certificate must be endorsed
// depends on the tag the client sends after the handshake, so the Mux checks
// it then, against ClientCAs (the service certificate).
func (c *Credentials) ServerTLS() *tls.Config {
	conf := &tls.Config{
		MinVersion:             tls.VersionTLS13,
		ClientAuth:             tls.RequireAnyClientCert,
		SessionTicketsDisabled: true,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cert.Load(), nil
		},
	}
	if c.serviceCert != nil {
		conf.ClientCAs = x509.NewCertPool()
		conf.ClientCAs.AddCert(c.serviceCert)
	}
	return conf
}

// ClientTLS returns the configuration to dial peers with: TLS 1.3, the node
// certificate as client certificate, and the server's certificate accepted
// only if the service certificate endorses it. Host names are not checked:
// peers are named by node id, and the endorsement is what identifies them.
func (c *Credentials) ClientTLS() *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // verifyEndorsed below replaces the name-based verification
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return c.cert.Load(), nil
		},
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if c.serviceCert == nil {
				return errors.New("cluster: service certificate unknown: cannot verify the peer")
			}
			chain, err := parseChain(raw)
			if err != nil {
				return err
			}
			return ledger.Endorsed(chain[0], c.serviceCert)
		},
	}
}

// ServerTLS returns the Mux configuration of node in the service of
// serviceCert; see Credentials.ServerTLS. Use NewCredentials instead to
// replace the node identity later.
func ServerTLS(node *ledger.Identity, serviceCert *x509.Certificate) *tls.Config {
	return NewCredentials(node, serviceCert).ServerTLS()
}

// ClientTLS returns the dialing configuration of node in the service of
// serviceCert; see Credentials.ClientTLS.
func ClientTLS(node *ledger.Identity, serviceCert *x509.Certificate) *tls.Config {
	return NewCredentials(node, serviceCert).ClientTLS()
}

// ClientTLSTOFU returns the configuration of a joining node that does not
// know the service certificate (trust on first use): it presents self, takes
// the service certificate from the end of the chain the server presents,
// checks that it is a self-signed CA that endorses the server's certificate,
// and hands it to onServiceCert, which logs its fingerprint and may refuse it
// by returning an error (the handshake then fails with that error).
func ClientTLSTOFU(self *ledger.Identity, onServiceCert func(*x509.Certificate) error) *tls.Config {
	cert := &tls.Certificate{Certificate: [][]byte{self.Cert.Raw}, PrivateKey: self.Key, Leaf: self.Cert}
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // the chain is verified below, against the service certificate it carries
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return cert, nil
		},
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			chain, err := parseChain(raw)
			if err != nil {
				return err
			}
			if len(chain) < 2 {
				return errors.New("cluster: the server presented no service certificate")
			}
			service := chain[len(chain)-1]
			if !service.IsCA || service.CheckSignatureFrom(service) != nil {
				return fmt.Errorf("cluster: certificate %q presented as the service certificate is not a self-signed CA", service.Subject.CommonName)
			}
			if err := ledger.Endorsed(chain[0], service); err != nil {
				return err
			}
			return onServiceCert(service)
		},
	}
}

func parseChain(raw [][]byte) ([]*x509.Certificate, error) {
	if len(raw) == 0 {
		return nil, errors.New("cluster: the peer presented no certificate")
	}
	chain := make([]*x509.Certificate, len(raw))
	for i, der := range raw {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("cluster: peer certificate: %w", err)
		}
		chain[i] = c
	}
	return chain, nil
}

// PeerCertificate returns the leaf certificate the peer of conn presented:
// conn must be a connection from a Mux listener or from Dial.
func PeerCertificate(conn net.Conn) (*x509.Certificate, error) {
	tc, ok := conn.(interface{ ConnectionState() tls.ConnectionState })
	if !ok {
		return nil, fmt.Errorf("cluster: %T is not a TLS connection", conn)
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, errors.New("cluster: the peer presented no certificate")
	}
	return certs[0], nil
}

// endorsedBy checks the leaf of cs against roots (the service certificate).
func endorsedBy(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("cluster: the peer presented no certificate")
	}
	leaf := cs.PeerCertificates[0]
	if roots == nil {
		return fmt.Errorf("cluster: node certificate %q: service certificate unknown, cannot check its endorsement", leaf.Subject.CommonName)
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fmt.Errorf("cluster: node certificate %q is not endorsed by the service identity: %w", leaf.Subject.CommonName, err)
	}
	return nil
}
