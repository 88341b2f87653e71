//go:build !linux

package server

import "testing"

// directWAL: direct WAL writes are made on Linux only.
func directWAL(*testing.T) bool { return false }
