//go:build !linux

package storage

import (
	"errors"
	"os"
)

// openODirect: direct WAL writes are implemented on Linux only.
func openODirect(string) (*os.File, error) {
	return nil, errors.New("storage: O_DIRECT WAL writes need Linux")
}

// writeDSync: see the Linux version; never called elsewhere (no direct
// WAL).
func writeDSync(int, []byte, int64, bool) error { return errNoDSync }
