package server

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// directWAL reports whether the tests' temporary directories take O_DIRECT
// writes, as a single node's WAL needs for direct (and inline) writes.
func directWAL(t *testing.T) bool {
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "probe"), os.O_CREATE|os.O_WRONLY|unix.O_DIRECT, 0o600)
	if err != nil {
		return false
	}
	f.Close()
	return true
}
