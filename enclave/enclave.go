// Package enclave is the trusted-execution seam: what a node can prove
// about the code it runs (a measurement and signed reports over caller
// data) and the key it seals its secrets with. enclave/virtual implements it
// for development without TEE hardware; enclave/ego implements it on SGX
// through EGo (build tag ego). Nothing else in Coffer may depend on a
// particular TEE.
package enclave

// Enclave is a trusted execution environment as Coffer uses it.
type Enclave interface {
	// Kind names the implementation ("virtual", "sgx-ego").
	Kind() string
	// Measurement identifies the code running in the enclave (MRENCLAVE on
	// SGX); the charter's code allow-list holds measurements.
	Measurement() []byte
	// Report returns evidence, verifiable by a remote party, that this
	// measurement produced data (at most 64 bytes).
	Report(data []byte) ([]byte, error)
	// SealingKey returns a 32-byte key only this code on this platform can
	// derive: data dirs are encrypted with it.
	SealingKey() ([]byte, error)
}
