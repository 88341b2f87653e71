// Package ego is the SGX enclave through EGo; its implementation is built
// only with the ego build tag. Without the tag the package is empty, so the
// default build needs no Open Enclave headers.
package ego
