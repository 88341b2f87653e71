package mysql

import (
	"net"
	"sync/atomic"
	"time"
)

// A lone client's connection waits for its next packet in the kernel.
//
// Go parks a goroutine whose socket has no bytes: the read fails with
// EAGAIN, the scheduler polls epoll (twice: once without waiting, then
// blocking), and when the packet arrives it readies the goroutine and
// reads again. With one client sending statements back to back on a
// node running on one P (the server's GOMAXPROCS governor), that is a
// failed read, two epoll calls and a trip through the scheduler per
// statement, about 3 µs of a durable insert's 100 µs. A thread per
// connection, as MariaDB's, waits in poll and reads. readWait does the
// same for such a connection: before its read it waits up to
// readWaitTimeout in ppoll, which returns when the packet arrives, and
// the read then finds it. Durable single-row inserts from one connection,
// alternating fresh nodes: 2-5% more tx/s (storage RFC).
//
// The wait holds the thread, and the node's only P until the runtime's
// monitor takes it back for other work, so it is reserved for the case
// it helps: the node runs on one P (Config.LoneClient) and the
// listener's last readStreak socket reads that returned bytes were all
// this connection's. A pool whose connections take turns never builds a
// streak; a second client that starts while the lone one waits is served
// after at most readWaitTimeout, and the streak ends with its first read. A wait that
// times out ends the streak too, and after readWaitMisses of them in a
// row the connection stops waiting in the kernel: its client pauses
// between statements, or runs in this process (a test, an embedding
// program) and cannot send while this thread holds the only P.

// readWaitTimeout bounds a kernel wait. A client sending back to back
// answers within tens of microseconds; one that thinks longer costs one
// poll that times out, then the usual park.
const readWaitTimeout = 500 * time.Microsecond

// readStreak is how many of the listener's reads in a row must have been
// a connection's before it waits in the kernel.
const readStreak = 8

// readWaitMisses is how many kernel waits in a row may time out before
// a connection stops waiting there.
const readWaitMisses = 3

// readWaits counts kernel waits; readWaitsAnswered those that ended with
// bytes to read.
var readWaits, readWaitsAnswered atomic.Uint64

// KernelReadWaits returns how many reads of client connections, in this
// process, waited for their bytes in the kernel first.
func KernelReadWaits() uint64 { return readWaits.Load() }

// readWait decides, before each socket read of one connection, whether
// to wait in the kernel first.
type readWait struct {
	lone   func() bool               // Config.LoneClient
	last   *atomic.Pointer[readWait] // the listener's: the connection that read last
	streak int                       // the listener's reads in a row that were this connection's
	misses int                       // kernel waits in a row that timed out
	poller                           // the platform's kernel wait (readwait_linux.go)
}

func newReadWait(c *net.TCPConn, lone func() bool, last *atomic.Pointer[readWait]) *readWait {
	w := &readWait{lone: lone, last: last}
	if !w.poller.init(c) {
		return nil
	}
	return w
}

// before runs before a socket read.
func (w *readWait) before() {
	if w.misses >= readWaitMisses || w.streak < readStreak || w.last.Load() != w || !w.lone() {
		return
	}
	readWaits.Add(1)
	if w.poller.wait(readWaitTimeout) {
		readWaitsAnswered.Add(1)
		w.misses = 0
		return
	}
	w.misses++
	w.streak = 0
}

// after runs after a socket read that returned n bytes.
func (w *readWait) after(n int) {
	if n == 0 {
		return
	}
	if w.last.Load() == w {
		w.streak++
		return
	}
	w.last.Store(w)
	w.streak = 1
}
