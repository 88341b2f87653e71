package mysql

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

	gmsserver "github.com/dolthub/go-mysql-server/server"
	gmssql "github.com/dolthub/go-mysql-server/sql"
	vmysql "github.com/dolthub/vitess/go/mysql"

	"github.com/cofferdb/coffer/sql/engine"
	"github.com/cofferdb/coffer/sql/txn"
)

// Config configures the MySQL listener.
type Config struct {
	// Addr is host:port to listen on.
	Addr string
	// TLS enables TLS (and caching_sha2_password) when set.
	TLS *tls.Config
	// MaxConnections limits concurrent clients (0: unlimited).
	MaxConnections uint64
	// ConnReadTimeout and ConnWriteTimeout bound idle reads and writes.
	ConnReadTimeout  time.Duration
	ConnWriteTimeout time.Duration
	// ShutdownTimeout is how long Close waits for running statements
	// before it closes client connections.
	ShutdownTimeout time.Duration
	// MaxRetries is how often an autocommit statement that lost a write
	// conflict is run again before the client sees error 1213.
	MaxRetries int
	// NoFastPaths sends every statement through go-mysql-server's
	// analyzer (for comparisons; see point.go).
	NoFastPaths bool
	// Statements, if set, is told when each statement starts and ends
	// (the server's GOMAXPROCS governor).
	Statements StatementObserver
	// LoneClient, if set, reports that the node runs on one P serving
	// one client at a time (the server's GOMAXPROCS governor); a
	// connection that has sent the last several packets then waits for
	// its next one in the kernel instead of parking (readwait.go).
	LoneClient func() bool
	Logger     *slog.Logger
}

// StatementObserver is told when statements start and end.
type StatementObserver interface {
	Enter()
	Exit()
}

// DefaultConfig returns the defaults: loopback, port 3306.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:3306", MaxRetries: 8, ShutdownTimeout: 10 * time.Second, Logger: slog.Default()}
}

// Validate reports a configuration error.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("mysql: address %q: %w", c.Addr, err)
	}
	if c.MaxRetries < 0 {
		return errors.New("mysql: MaxRetries must not be negative")
	}
	return nil
}

// Server is a running MySQL protocol listener.
type Server struct {
	cfg      Config
	e        *engine.Engine
	srv      *gmsserver.Server
	fast     *fastHits // nil: no fast paths
	sessions sync.Map  // connection id → *txn.Session
	done     chan error
	l        *listener
	active   atomic.Int64  // running statements
	h        *retryHandler // the handler vitess calls
}

// takeExecutes lets conn's read path answer its prepared single-row
// writes (execute.go). Not over TLS, whose bytes the filter cannot read,
// nor with read or write timeouts, which vitess sets on each of its reads
// and writes through a wrapper the filter is below.
func (s *Server) takeExecutes(conn *vmysql.Conn) {
	cc, ok := conn.Conn.(*clientConn)
	if !ok || s.fast == nil || s.h == nil || s.cfg.ConnReadTimeout != 0 || s.cfg.ConnWriteTimeout != 0 {
		return
	}
	cc.filter.exec = (&stmtExecutor{h: s.h, c: conn}).execute
}

// begin counts a running statement until end, which also closes the
// session's statement state. (Two methods, not a returned closure: one
// allocation less per statement.)
func (s *Server) begin() {
	s.active.Add(1)
	if o := s.cfg.Statements; o != nil {
		o.Enter()
	}
}

// end closes what begin opened, on c's session.
func (s *Server) end(c *vmysql.Conn) {
	if sess := s.session(c); sess != nil {
		sess.EndStatement()
	}
	if o := s.cfg.Statements; o != nil {
		o.Exit()
	}
	s.active.Add(-1)
}

// New creates the listener (bound at once, so Addr is known) over e.
func New(cfg Config, e *engine.Engine) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	routeLogrus(cfg.Logger)
	setDefaultLimits()
	s := &Server{cfg: cfg, e: e, done: make(chan error, 1)}
	if !cfg.NoFastPaths {
		s.fast = &fastHits{}
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("mysql: listen on %s: %w", cfg.Addr, err)
	}
	s.l = &listener{Listener: l, lone: cfg.LoneClient}
	scfg := gmsserver.Config{
		Protocol:                "tcp",
		Address:                 l.Addr().String(),
		Listener:                s.l,
		ProtocolListenerFactory: listenerFactory,
		TLSConfig:               cfg.TLS,
		MaxConnections:          cfg.MaxConnections,
		ConnReadTimeout:         cfg.ConnReadTimeout,
		ConnWriteTimeout:        cfg.ConnWriteTimeout,
		Version:                 "8.0.33-coffer",
	}
	builder := func(ctx context.Context, conn *vmysql.Conn, addr string) (gmssql.Session, error) {
		user, host := "", ""
		if u, ok := conn.UserData.(gmssql.MysqlConnectionUser); ok {
			user, host = u.User, u.Host
		}
		client := gmssql.Client{Address: host, User: user, Capabilities: conn.Capabilities}
		base := gmssql.NewBaseSessionWithClientServer(addr, client, conn.ConnectionID)
		sess := e.NewSession(base, txn.Principal{Name: user, Host: host})
		s.sessions.Store(conn.ConnectionID, sess)
		s.takeExecutes(conn)
		return sess, nil
	}
	wrap := func(h vmysql.Handler) (vmysql.Handler, error) {
		s.h = &retryHandler{Handler: h, s: s}
		return s.h, nil
	}
	srv, err := gmsserver.NewServerWithHandler(scfg, e.Engine, gmssql.NewContext, builder, nil, wrap)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("mysql: %w", err)
	}
	s.srv = srv
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.srv.Listener.Addr() }

// Start serves connections in the background.
func (s *Server) Start() {
	go func() { s.done <- s.srv.Start() }()
	s.cfg.Logger.Info("mysql wire listening", "addr", s.Addr().String())
}

// Close stops accepting connections, lets running statements finish for up
// to ShutdownTimeout, then closes every client connection; open
// transactions are rolled back.
func (s *Server) Close() error {
	err := s.srv.Close()
	deadline := time.Now().Add(s.cfg.ShutdownTimeout)
	for s.active.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // draining: poll until statements end
	}
	if n := s.active.Load(); n > 0 {
		s.cfg.Logger.Warn("mysql: statements still running at shutdown; closing their connections", "statements", n)
	}
	s.l.closeConns()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
	return err
}

func (s *Server) session(c *vmysql.Conn) *txn.Session {
	v, ok := s.sessions.Load(c.ConnectionID)
	if !ok {
		return nil
	}
	return v.(*txn.Session)
}
