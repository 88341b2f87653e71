package pgwire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cofferdb/coffer/sql/engine"
)

// Cleartext says when a client may send its password in cleartext (to be
// checked against the engine's user store, and to enroll a SCRAM verifier).
type Cleartext string

const (
	// CleartextTrusted allows it over TLS and from loopback only.
	CleartextTrusted Cleartext = "trusted"
	// CleartextAlways allows it on any connection (not recommended).
	CleartextAlways Cleartext = "always"
	// CleartextNever allows SCRAM-SHA-256 only.
	CleartextNever Cleartext = "never"
)

// Config configures the Postgres listener.
type Config struct {
	// Addr is host:port to listen on.
	Addr string
	// TLS answers SSLRequest with TLS when set; otherwise the client is
	// told 'N' and may continue in plaintext.
	TLS *tls.Config
	// Cleartext: see the Cleartext constants. Default CleartextTrusted.
	Cleartext Cleartext
	// MaxConnections limits concurrent clients (0: unlimited).
	MaxConnections int
	// MaxRetries is how often an autocommit statement that lost a write
	// conflict is run again before the client sees 40001.
	MaxRetries int
	// Statements, if set, is told when each Query or Execute starts and
	// ends (the server's GOMAXPROCS governor).
	Statements StatementObserver
	Logger     *slog.Logger
}

// StatementObserver is told when statements start and end.
type StatementObserver interface {
	Enter()
	Exit()
}

// DefaultConfig returns the defaults: loopback, port 5432.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:5432", Cleartext: CleartextTrusted, MaxRetries: 8, Logger: slog.Default()}
}

// Validate reports a configuration error.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("pgwire: address %q: %w", c.Addr, err)
	}
	switch c.Cleartext {
	case "", CleartextTrusted, CleartextAlways, CleartextNever:
	default:
		return fmt.Errorf("pgwire: cleartext %q: want trusted, always or never", c.Cleartext)
	}
	if c.MaxRetries < 0 {
		return errors.New("pgwire: MaxRetries must not be negative")
	}
	return nil
}

// Server is a running Postgres protocol listener.
type Server struct {
	cfg    Config
	engine *engine.Engine
	ln     net.Listener
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	conns  map[uint32]*conn
	nextID atomic.Uint32
	wg     sync.WaitGroup
}

// connIDBase keeps Postgres session ids apart from the MySQL wire's.
const connIDBase = 1 << 30

// New creates the listener (bound at once, so Addr is known) over e.
func New(cfg Config, e *engine.Engine) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Cleartext == "" {
		cfg.Cleartext = CleartextTrusted
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("pgwire: listen on %s: %w", cfg.Addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{cfg: cfg, engine: e, ln: ln, ctx: ctx, cancel: cancel, conns: map[uint32]*conn{}}, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Start serves connections in the background.
func (s *Server) Start() {
	s.wg.Add(1)
	go s.acceptLoop()
	s.cfg.Logger.Info("postgres wire listening", "addr", s.Addr().String())
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			s.cfg.Logger.Warn("pgwire: accept", "err", err)
			return
		}
		c := newConn(s, nc, connIDBase+s.nextID.Add(1))
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			c.serve()
		}()
	}
}

func (s *Server) register(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.MaxConnections > 0 && len(s.conns) >= s.cfg.MaxConnections {
		return false
	}
	s.conns[c.id] = c
	return true
}

func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	delete(s.conns, c.id)
	s.mu.Unlock()
}

// cancelQuery handles a CancelRequest: the running statement of the
// connection with that process id and secret is interrupted.
func (s *Server) cancelQuery(pid, secret uint32) {
	s.mu.Lock()
	c := s.conns[pid]
	s.mu.Unlock()
	if c != nil && c.secret == secret {
		c.cancelRunning()
	}
}

// Close stops accepting connections and closes open ones; their open
// transactions are rolled back.
func (s *Server) Close() error {
	s.cancel()
	err := s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	return err
}
