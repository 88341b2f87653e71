package mysql

import (
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// poller waits for a socket to become readable in ppoll. Its fields are
// reused so that a wait allocates nothing.
type poller struct {
	rc    syscall.RawConn
	fds   [1]unix.PollFd
	ts    unix.Timespec
	ready bool             // the last wait ended with bytes to read
	poll  func(fd uintptr) // the Control callback, made once
}

func (p *poller) init(c *net.TCPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	p.rc = rc
	p.poll = func(fd uintptr) {
		p.fds[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
		// The kernel writes the time left back into ts.
		n, err := unix.Ppoll(p.fds[:], &p.ts, nil)
		p.ready = err == nil && n == 1 && p.fds[0].Revents&unix.POLLIN != 0
	}
	return true
}

// wait returns when the socket is readable, has an error or hung up, or
// after d; it reports whether there are bytes to read.
func (p *poller) wait(d time.Duration) bool {
	p.ts, p.ready = unix.NsecToTimespec(int64(d)), false
	_ = p.rc.Control(p.poll)
	return p.ready
}
