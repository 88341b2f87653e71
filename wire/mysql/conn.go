package mysql

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// go-mysql-server checks the socket of every query for a client that went
// away (a /proc lookup per statement: about a fifth of a point select's CPU
// here). Coffer hides the *net.TCPConn from it and instead watches only
// statements that run longer than watchAfter, with a non-blocking peek.

// watchAfter is how long a statement runs before its client's socket is
// checked; watchEvery is how often it is checked after that.
const (
	watchAfter = 500 * time.Millisecond
	watchEvery = 500 * time.Millisecond
)

// listener wraps accepted TCP connections in clientConn and keeps them,
// so that shutdown can close them.
type listener struct {
	net.Listener
	mu    sync.Mutex
	conns map[*clientConn]struct{}
	// lone is Config.LoneClient: when set, connections may wait for
	// their next packet in the kernel (readwait.go); last is the one
	// that read last.
	lone func() bool
	last atomic.Pointer[readWait]
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	cc := &clientConn{Conn: tcp, tcp: tcp, l: l, filter: newPrepareFilter()}
	if l.lone != nil {
		cc.filter.wait = newReadWait(tcp, l.lone, &l.last)
	}
	l.mu.Lock()
	if l.conns == nil {
		l.conns = map[*clientConn]struct{}{}
	}
	l.conns[cc] = struct{}{}
	l.mu.Unlock()
	return cc, nil
}

// closeConns closes every open client connection.
func (l *listener) closeConns() {
	l.mu.Lock()
	conns := make([]*clientConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// clientConn is a client connection whose TCP socket go-mysql-server does
// not see.
type clientConn struct {
	net.Conn
	tcp    *net.TCPConn
	l      *listener
	filter *prepareFilter // read by one goroutine: vitess's connection handler
}

// Read implements net.Conn through the prepared-statement filter.
func (c *clientConn) Read(p []byte) (int, error) { return c.filter.read(c.Conn, p) }

func (c *clientConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// watchClient cancels ctx if the statement outlives watchAfter and the
// client has closed its connection meanwhile. stop ends the watch. A timer,
// not a goroutine, waits: short statements cost one timer.
func watchClient(ctx context.Context, c net.Conn) (context.Context, func()) {
	cc, ok := c.(*clientConn)
	if !ok {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	mu.Lock() // the callback reads t under mu: it may fire before the assignment
	defer mu.Unlock()
	t = time.AfterFunc(watchAfter, func() {
		if peerClosed(cc.tcp) {
			cancel()
			return
		}
		mu.Lock()
		if !stopped {
			t.Reset(watchEvery)
		}
		mu.Unlock()
	})
	return ctx, func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
		cancel()
	}
}

// peerClosed reports whether the peer has closed the connection, without
// consuming any pending bytes (MSG_PEEK, non-blocking).
func peerClosed(c *net.TCPConn) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	_ = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = n == 0 && err == nil || (err != nil && !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR))
		return true
	})
	return closed
}
