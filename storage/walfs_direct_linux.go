package storage

import (
	"os"

	"golang.org/x/sys/unix"
)

// openODirect opens name for writing with O_DIRECT.
func openODirect(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_WRONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
}
