//go:build ego

// Package ego is the SGX enclave through EGo: build with `ego-go build
// -tags ego`, sign with `ego sign` and run with `ego run`. It is the only
// package that imports EGo (an architecture test checks this).
package ego

import (
	"errors"

	egoenclave "github.com/edgelesssys/ego/enclave"

	"github.com/cofferdb/coffer/enclave"
)

// Enclave is the running SGX enclave.
type Enclave struct {
	measurement []byte
}

var _ enclave.Enclave = (*Enclave)(nil)

// Open reads the enclave's own report for its measurement.
func Open() (*Enclave, error) {
	r, err := egoenclave.GetSelfReport()
	if err != nil {
		return nil, err
	}
	return &Enclave{measurement: r.UniqueID}, nil
}

// Kind implements enclave.Enclave.
func (e *Enclave) Kind() string { return "sgx-ego" }

// Measurement implements enclave.Enclave (MRENCLAVE).
func (e *Enclave) Measurement() []byte { return e.measurement }

// Report implements enclave.Enclave: an SGX remote report over data.
func (e *Enclave) Report(data []byte) ([]byte, error) {
	if len(data) > 64 {
		return nil, errors.New("ego enclave: report data is limited to 64 bytes")
	}
	return egoenclave.GetRemoteReport(data)
}

// SealingKey implements enclave.Enclave: the unique (MRENCLAVE) seal key.
func (e *Enclave) SealingKey() ([]byte, error) {
	key, _, err := egoenclave.GetUniqueSealKey()
	return key, err
}
