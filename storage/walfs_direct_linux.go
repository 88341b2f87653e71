package storage

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openODirect opens name for writing with O_DIRECT.
func openODirect(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_WRONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
}

// writeDSync writes b at off to fd with RWF_DSYNC: durably, as a write
// then an fdatasync of its range would. errNoDSync: the kernel predates
// it. inline: as a raw system call, which keeps the goroutine's P
// (directFile.inline).
func writeDSync(fd int, b []byte, off int64, inline bool) error {
	iov := [][]byte{b}
	for len(iov[0]) > 0 {
		var n int
		var err error
		if inline {
			n, err = pwritev2Raw(fd, iov[0], off, unix.RWF_DSYNC)
		} else {
			n, err = unix.Pwritev2(fd, iov, off, unix.RWF_DSYNC)
		}
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

// pwritev2Raw is pwritev2 of one buffer as a raw system call: the runtime
// is not told, so the calling goroutine keeps its P for the call.
func pwritev2Raw(fd int, b []byte, off int64, flags int) (int, error) {
	v := &unix.Iovec{Base: &b[0]}
	v.SetLen(len(b))
	// The offset in two words, as unix.Pwritev2 passes it; the second is
	// 0 where a word holds it whole.
	const wordBits = 8 * unsafe.Sizeof(uintptr(0))
	lo, hi := uintptr(off), uintptr(uint64(off)>>(wordBits-1)>>1)
	n, _, e := unix.RawSyscall6(unix.SYS_PWRITEV2, uintptr(fd), uintptr(unsafe.Pointer(v)), 1, lo, hi, uintptr(flags))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
