// Package virtual is a development enclave with no hardware protection:
// its measurement is the SHA-256 of the running binary, its reports are
// HMACs under a key kept next to the data, and its sealing key is derived
// from that key and the measurement. It proves nothing to anyone; it lets
// the rest of Coffer run the same code paths without TEE hardware. A
// charter must still allow its measurement like any other.
package virtual

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cofferdb/coffer/enclave"
)

// SecretFile is the file in the data dir holding the virtual platform key.
const SecretFile = "virtual-enclave.key"

// Enclave is the virtual enclave.
type Enclave struct {
	measurement [32]byte
	secret      []byte
}

var _ enclave.Enclave = (*Enclave)(nil)

// Open returns the virtual enclave for the running binary, creating the
// platform key in dir on first use.
func Open(dir string) (*Enclave, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	m, err := hashFile(exe)
	if err != nil {
		return nil, fmt.Errorf("virtual enclave: measure %s: %w", exe, err)
	}
	secret, err := loadOrCreateSecret(filepath.Join(dir, SecretFile))
	if err != nil {
		return nil, err
	}
	return &Enclave{measurement: m, secret: secret}, nil
}

func hashFile(path string) ([32]byte, error) {
	var out [32]byte
	f, err := os.Open(path)
	if err != nil {
		return out, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return out, err
	}
	h.Sum(out[:0])
	return out, nil
}

func loadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != 32 {
			return nil, fmt.Errorf("virtual enclave: %s is corrupt", path)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("virtual enclave: %w", err)
	}
	return b, nil
}

// Kind implements enclave.Enclave.
func (e *Enclave) Kind() string { return "virtual" }

// Measurement implements enclave.Enclave.
func (e *Enclave) Measurement() []byte { return e.measurement[:] }

// Report implements enclave.Enclave: measurement || data || HMAC.
func (e *Enclave) Report(data []byte) ([]byte, error) {
	if len(data) > 64 {
		return nil, errors.New("virtual enclave: report data is limited to 64 bytes")
	}
	mac := hmac.New(sha256.New, e.secret)
	mac.Write(e.measurement[:])
	mac.Write(data)
	out := append(append(append([]byte(nil), e.measurement[:]...), data...), mac.Sum(nil)...)
	return out, nil
}

// SealingKey implements enclave.Enclave.
func (e *Enclave) SealingKey() ([]byte, error) {
	mac := hmac.New(sha256.New, e.secret)
	mac.Write([]byte("coffer-virtual-seal-v1"))
	mac.Write(e.measurement[:])
	return mac.Sum(nil), nil
}
