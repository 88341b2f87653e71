//go:build ego

package server

import (
	"github.com/cofferdb/coffer/enclave"
	"github.com/cofferdb/coffer/enclave/ego"
)

// openEnclave returns the SGX enclave the binary runs in (under ego run).
func openEnclave(string) (enclave.Enclave, error) { return ego.Open() }
