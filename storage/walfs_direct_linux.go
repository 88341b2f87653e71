package storage

import (
	"os"

	"golang.org/x/sys/unix"
)

// openODirect opens name for writing with O_DIRECT.
func openODirect(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_WRONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
}

// writeDSync writes b at off to fd with RWF_DSYNC: durably, as a write
// then an fdatasync of its range would. errNoDSync: the kernel predates
// it.
func writeDSync(fd int, b []byte, off int64) error {
	iov := [][]byte{b}
	for len(iov[0]) > 0 {
		n, err := unix.Pwritev2(fd, iov, off, unix.RWF_DSYNC)
		switch {
		case err == unix.EINTR:
		case err == unix.ENOSYS || err == unix.EOPNOTSUPP:
			return errNoDSync
		case err != nil:
			return err
		case n == 0:
			return unix.EIO
		default:
			iov[0], off = iov[0][n:], off+int64(n)
		}
	}
	return nil
}
