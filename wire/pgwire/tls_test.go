package pgwire_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferdb/coffer/server"
)

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and its
// key into dir.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "coffer-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "pg.crt"), filepath.Join(dir, "pg.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestTLS: with a certificate configured, SSLRequest leads to TLS (pgx
// and psql with sslmode=require); without one, sslmode=require is
// refused and sslmode=prefer continues in plaintext.
func TestTLS(t *testing.T) {
	certFile, keyFile := writeSelfSigned(t, t.TempDir())
	withTLS := startServerWith(t, func(c *server.Config) { c.PGTLSCertFile, c.PGTLSKeyFile = certFile, keyFile })
	plain := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn := func(s *server.Server, mode string) string {
		return strings.Replace(connString(s, "admin", adminPassword, "postgres"), "sslmode=disable", "sslmode="+mode, 1)
	}

	t.Run("pgx require", func(t *testing.T) {
		c, err := pgx.Connect(ctx, dsn(withTLS, "require"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, ok := c.PgConn().Conn().(*tls.Conn); !ok {
			t.Fatalf("connection is %T, want *tls.Conn", c.PgConn().Conn())
		}
		var n int
		if err := c.QueryRow(ctx, "SELECT $1::int + 1", 41).Scan(&n); err != nil || n != 42 {
			t.Fatalf("query over TLS: %d, %v", n, err)
		}
	})
	t.Run("pgx verify-full refuses a self-signed certificate", func(t *testing.T) {
		if _, err := pgx.Connect(ctx, dsn(withTLS, "verify-full")); err == nil {
			t.Fatal("verify-full accepted an unknown CA")
		}
	})
	t.Run("plaintext server refuses require", func(t *testing.T) {
		if _, err := pgx.Connect(ctx, dsn(plain, "require")); err == nil || !strings.Contains(err.Error(), "refused TLS") {
			t.Fatalf("sslmode=require without a certificate: %v", err)
		}
		c, err := pgx.Connect(ctx, dsn(plain, "prefer"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, ok := c.PgConn().Conn().(*tls.Conn); ok {
			t.Fatal("prefer got TLS from a server without a certificate")
		}
	})
	t.Run("psql require", func(t *testing.T) {
		psql, err := exec.LookPath("psql")
		if err != nil {
			t.Fatal("psql not installed: run make test-deps (apt-get install postgresql-client)")
		}
		host, port, _ := net.SplitHostPort(withTLS.PGAddr().String())
		cmd := exec.CommandContext(ctx, psql, "-h", host, "-p", port, "-U", "admin", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-X", "-c", `\conninfo`, "-c", "SELECT 'over tls' AS t")
		cmd.Env = append(os.Environ(), "PGPASSWORD="+adminPassword, "PGSSLMODE=require")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("psql: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "SSL connection (protocol: TLS") || !strings.Contains(string(out), "over tls") {
			t.Fatalf("psql did not use TLS:\n%s", out)
		}
	})
}
