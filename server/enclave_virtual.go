//go:build !ego

package server

import (
	"github.com/cofferdb/coffer/enclave"
	"github.com/cofferdb/coffer/enclave/virtual"
)

// openEnclave returns the development enclave; builds with the ego tag use
// SGX instead (enclave_ego.go).
func openEnclave(dataDir string) (enclave.Enclave, error) { return virtual.Open(dataDir) }
