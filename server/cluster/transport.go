package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Tags: the first byte a client sends after the TLS handshake says which
// protocol the connection carries.
const (
	// TagRaft carries raft's own RPCs (StreamLayer).
	TagRaft byte = 1
	// TagRPC carries proposals and read-index requests forwarded to the
	// leader.
	TagRPC byte = 2
	// TagJoin carries the join handshake of a node that has no endorsed
	// certificate yet: the only tag whose client certificate the Mux does not
	// check.
	TagJoin byte = 3
)

// HandshakeTimeout bounds the TLS handshake and the tag byte of an incoming
// connection, and how long it waits for an Accept of its tag.
const HandshakeTimeout = 10 * time.Second

var (
	// ErrBlocked is returned when dialing a TagRaft or TagRPC connection
	// through a Mux that SetBlocked partitions.
	ErrBlocked = errors.New("cluster: transport blocked (partitioned)")
	// ErrMuxClosed is returned by a closed Mux and its listeners.
	ErrMuxClosed = fmt.Errorf("cluster: mux closed: %w", net.ErrClosed)
)

// Mux serves several protocols on one TCP address with mutual TLS. A client
// sends a tag byte after the handshake; the Mux hands the connection to the
// listener of that tag, after checking, for TagRaft and TagRPC, that the
// client certificate is endorsed by the service certificate (the ClientCAs
// of the server configuration). TagJoin connections are handed over with
// any client certificate; the handler reads it with PeerCertificate.
type Mux struct {
	ln   net.Listener
	conf atomic.Pointer[tls.Config]
	log  *slog.Logger
	done chan struct{}

	mu        sync.Mutex
	listeners map[byte]*tagListener
	// conns holds the connections Close drops: incoming ones still in their
	// handshake (raw TCP connections), accepted ones and those dialed through
	// the Mux (*Conn). SetBlocked drops the *Conn of TagRaft and TagRPC.
	conns   map[net.Conn]struct{}
	blocked bool
	closed  bool
}

// NewMux returns a Mux serving tlsConf (see ServerTLS) on ln. Call Serve to
// accept.
func NewMux(ln net.Listener, tlsConf *tls.Config, logger *slog.Logger) *Mux {
	if logger == nil {
		logger = slog.Default()
	}
	m := &Mux{
		ln:        ln,
		log:       logger.With("component", "cluster-mux"),
		done:      make(chan struct{}),
		listeners: make(map[byte]*tagListener),
		conns:     make(map[net.Conn]struct{}),
	}
	m.conf.Store(tlsConf)
	return m
}

// SetTLSConfig replaces the server configuration for connections accepted
// afterwards (a joiner that learned the service certificate after it started
// listening).
func (m *Mux) SetTLSConfig(tlsConf *tls.Config) { m.conf.Store(tlsConf) }

// Addr returns the address the Mux listens on.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Listen returns the listener of connections tagged tag. Its Accept yields
// connections whose handshake is done and whose tag byte is consumed; they
// have a ConnectionState method (they embed *tls.Conn), so PeerCertificate
// works on them. Listen panics if tag already has a listener.
func (m *Mux) Listen(tag byte) net.Listener {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.listeners[tag]; ok {
		panic(fmt.Sprintf("cluster: tag %d already has a listener", tag))
	}
	l := &tagListener{mux: m, tag: tag, conns: make(chan net.Conn), done: make(chan struct{})}
	m.listeners[tag] = l
	return l
}

// Serve accepts connections until Close. Each connection's handshake runs in
// its own goroutine under HandshakeTimeout, so a slow client delays no other.
func (m *Mux) Serve() error {
	var backoff time.Duration
	for {
		raw, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.done:
				return nil
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			m.log.Warn("accept failed; retrying", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-m.done:
				return nil
			}
			continue
		}
		backoff = 0
		if !m.track(raw) {
			_ = raw.Close()
			continue
		}
		go m.handle(raw)
	}
}

// Close stops Serve, closes every listener, every accepted connection and
// every connection dialed through Mux.Dial.
func (m *Mux) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.done)
	conns := m.conns
	m.conns = make(map[net.Conn]struct{})
	m.mu.Unlock()
	for c := range conns {
		if tc, ok := c.(*Conn); ok {
			c = tc.raw // no close_notify: Close must not wait on a stuck peer
		}
		_ = c.Close()
	}
	return m.ln.Close()
}

// SetBlocked partitions the node (tests): while blocked, the Mux drops every
// TagRaft and TagRPC connection it tracks, refuses incoming ones and fails
// Mux.Dial with ErrBlocked. TagJoin is not affected.
func (m *Mux) SetBlocked(blocked bool) {
	m.mu.Lock()
	m.blocked = blocked
	var drop []net.Conn
	if blocked {
		for c := range m.conns {
			if tc, ok := c.(*Conn); ok && partitionable(tc.tag) {
				drop = append(drop, tc)
				delete(m.conns, c)
			}
		}
	}
	m.mu.Unlock()
	for _, c := range drop {
		_ = c.(*Conn).raw.Close()
	}
}

// Dial is the package Dial tracked by the Mux, so that SetBlocked drops and
// refuses it and Close closes it. Dial TagRaft and TagRPC connections
// through the Mux.
func (m *Mux) Dial(ctx context.Context, addr string, tag byte, tlsConf *tls.Config) (net.Conn, error) {
	if partitionable(tag) && m.isBlocked() {
		return nil, ErrBlocked
	}
	c, err := dial(ctx, addr, tag, tlsConf)
	if err != nil {
		return nil, err
	}
	if !m.trackConn(c) {
		_ = c.raw.Close()
		return nil, ErrBlocked
	}
	return c, nil
}

// Dial connects to the Mux at addr with tlsConf (see ClientTLS), and sends
// tag once the handshake is done. The connection has a ConnectionState
// method, so PeerCertificate works on it. A server that refuses the client
// certificate closes the connection: the first Read fails.
func Dial(ctx context.Context, addr string, tag byte, tlsConf *tls.Config) (net.Conn, error) {
	return dial(ctx, addr, tag, tlsConf)
}

func dial(ctx context.Context, addr string, tag byte, tlsConf *tls.Config) (*Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: dial %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	tc := tls.Client(raw, tlsConf)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("cluster: TLS handshake with %s: %w", addr, err)
	}
	if _, err := tc.Write([]byte{tag}); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("cluster: send tag to %s: %w", addr, err)
	}
	_ = raw.SetDeadline(time.Time{})
	return &Conn{Conn: tc, raw: raw, tag: tag}, nil
}

// Conn is a connection of the Mux or Dial: a *tls.Conn whose Close also
// forgets it in the Mux that tracks it.
type Conn struct {
	*tls.Conn
	raw  net.Conn
	tag  byte
	mux  *Mux
	once sync.Once
}

// Close closes the connection.
func (c *Conn) Close() error {
	c.once.Do(func() {
		if c.mux != nil {
			c.mux.untrack(c)
		}
	})
	return c.Conn.Close()
}

func (m *Mux) handle(raw net.Conn) {
	defer m.untrack(raw)
	conf := m.conf.Load()
	_ = raw.SetDeadline(time.Now().Add(HandshakeTimeout))
	tc := tls.Server(raw, conf)
	var tag [1]byte
	if err := tc.Handshake(); err != nil {
		m.log.Debug("TLS handshake failed", "remote", raw.RemoteAddr(), "err", err)
		_ = raw.Close()
		return
	}
	if _, err := io.ReadFull(tc, tag[:]); err != nil {
		m.log.Debug("no tag after the TLS handshake", "remote", raw.RemoteAddr(), "err", err)
		_ = raw.Close()
		return
	}
	_ = raw.SetDeadline(time.Time{})
	if partitionable(tag[0]) {
		if err := endorsedBy(tc.ConnectionState(), conf.ClientCAs); err != nil {
			m.log.Warn("connection refused", "remote", raw.RemoteAddr(), "tag", tag[0], "err", err)
			_ = raw.Close()
			return
		}
	}
	c := &Conn{Conn: tc, raw: raw, tag: tag[0]}
	m.mu.Lock()
	l := m.listeners[tag[0]]
	m.mu.Unlock()
	if l == nil {
		m.log.Warn("connection with an unknown tag refused", "remote", raw.RemoteAddr(), "tag", tag[0])
		_ = raw.Close()
		return
	}
	if !m.trackConn(c) {
		_ = raw.Close()
		return
	}
	timer := time.NewTimer(HandshakeTimeout)
	defer timer.Stop()
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	case <-timer.C:
		m.log.Warn("connection not accepted in time; dropped", "remote", raw.RemoteAddr(), "tag", tag[0])
		_ = c.Close()
	}
}

// partitionable reports whether SetBlocked drops connections of tag.
func partitionable(tag byte) bool { return tag == TagRaft || tag == TagRPC }

func (m *Mux) isBlocked() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.blocked
}

// track registers an incoming raw connection for Close; false if the Mux is
// closed.
func (m *Mux) track(raw net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.conns[raw] = struct{}{}
	return true
}

// trackConn registers a connection for SetBlocked and Close; false if the
// Mux is closed, or blocked and c is partitionable.
func (m *Mux) trackConn(c *Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.blocked && partitionable(c.tag) {
		return false
	}
	c.mux = m
	m.conns[c] = struct{}{}
	return true
}

func (m *Mux) untrack(c net.Conn) {
	m.mu.Lock()
	delete(m.conns, c)
	m.mu.Unlock()
}

// tagListener is the net.Listener of one tag.
type tagListener struct {
	mux   *Mux
	tag   byte
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *tagListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, ErrMuxClosed
	case <-l.mux.done:
		return nil, ErrMuxClosed
	}
}

// Close stops the listener; connections of its tag are refused afterwards.
func (l *tagListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.mux.mu.Lock()
		if l.mux.listeners[l.tag] == l {
			delete(l.mux.listeners, l.tag)
		}
		l.mux.mu.Unlock()
	})
	return nil
}

func (l *tagListener) Addr() net.Addr { return l.mux.Addr() }

var _ raft.StreamLayer = (*StreamLayer)(nil)

// StreamLayer is raft's transport over a Mux: it accepts TagRaft connections
// and dials them with the client configuration it was given, through the Mux
// so that SetBlocked partitions raft. Its Addr is the Mux's listening
// address, which raft advertises to its peers: listen on a routable address,
// not 0.0.0.0.
//
// Closing it (raft's NetworkTransport.Close does) stops accepting TagRaft
// connections; the Mux and its other tags go on until Mux.Close.
type StreamLayer struct {
	net.Listener
	mux     *Mux
	tlsConf *tls.Config
}

// NewStreamLayer listens for TagRaft on m; clientTLS (see ClientTLS) is used
// to dial peers.
func NewStreamLayer(m *Mux, clientTLS *tls.Config) *StreamLayer {
	return &StreamLayer{Listener: m.Listen(TagRaft), mux: m, tlsConf: clientTLS}
}

// Dial connects to the raft address of a peer.
func (s *StreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.mux.Dial(ctx, string(address), TagRaft, s.tlsConf)
}
