package pgwire

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/jackc/pgproto3/v2"

	"github.com/cofferdb/coffer/sql/txn"
)

// conn is one client connection and its session.
type conn struct {
	s  *Server
	nc net.Conn
	// holdOutput: the last message was an extended-protocol step (Parse,
	// Bind, Describe, Execute, Close) whose answers wait, as PostgreSQL's
	// do, for the Sync or Flush the client must send to see them, so the
	// next receive does not flush them one by one.
	holdOutput bool
	id         uint32
	secret     uint32
	be         *pgproto3.Backend
	w          *bufio.Writer
	tls        bool
	host       string
	user       string
	db         string
	ctx        context.Context

	sess *txn.Session
	// inTxn: an explicit transaction is open; failed: a statement in it
	// failed, and only ROLLBACK is accepted (PostgreSQL semantics).
	inTxn, failed bool
	// txnUsed: a statement ran in the open transaction block (SET
	// TRANSACTION must come first); txnReadOnly: it began READ ONLY.
	txnUsed, txnReadOnly bool
	// engineIsolation is the level the engine session starts
	// transactions at (isolation.go).
	engineIsolation string
	// templates are the simple-query templates translated so far;
	// fastOnly: a template is running, which only the fast paths may
	// answer (template.go).
	templates map[string]*template
	fastOnly  bool
	// settings are the session's PostgreSQL settings (SET / SHOW).
	settings map[string]string

	stmts   map[string]*prepared
	portals map[string]*portal

	runMu     sync.Mutex
	runCancel context.CancelFunc
	werr      error
	// sendBuf is send's encoding scratch (pgproto3's Backend.Send
	// allocates a buffer per message: one per row sent).
	sendBuf []byte
}

// maxSendBuf bounds the scratch a connection keeps between messages.
const maxSendBuf = 64 << 10

func newConn(s *Server, nc net.Conn, id uint32) *conn {
	var b [4]byte
	rand.Read(b[:])
	return &conn{s: s, nc: nc, id: id, secret: binary.BigEndian.Uint32(b[:]), ctx: s.ctx,
		stmts: map[string]*prepared{}, portals: map[string]*portal{}, settings: defaultSettings(),
		templates: map[string]*template{}}
}

func (c *conn) setIO(rw net.Conn) {
	c.w = bufio.NewWriterSize(rw, 32<<10)
	c.be = pgproto3.NewBackend(limitedReader{pgproto3.NewChunkReader(rw)}, c.w)
}

// maxMessage bounds one protocol message, so that an announced length
// cannot make the server allocate gigabytes.
const maxMessage = 64 << 20

// limitedReader refuses chunks over maxMessage.
type limitedReader struct{ cr pgproto3.ChunkReader }

var errTooLarge = errors.New("pgwire: message exceeds 64 MiB")

func (r limitedReader) Next(n int) ([]byte, error) {
	if n > maxMessage || n < 0 {
		return nil, errTooLarge
	}
	return r.cr.Next(n)
}

func (c *conn) send(m pgproto3.BackendMessage) {
	if c.werr != nil {
		return
	}
	// Backend.Send, encoding into the connection's scratch.
	buf, err := m.Encode(c.sendBuf[:0])
	if err != nil {
		c.werr = err
		return
	}
	_, c.werr = c.w.Write(buf)
	if cap(buf) <= maxSendBuf {
		c.sendBuf = buf[:0]
	}
}

func (c *conn) flush() error {
	if c.werr != nil {
		return c.werr
	}
	c.werr = c.w.Flush()
	return c.werr
}

// receive flushes what was sent and reads the next message.
func (c *conn) receive() (pgproto3.FrontendMessage, error) {
	if !c.holdOutput {
		if err := c.flush(); err != nil {
			return nil, err
		}
	}
	c.holdOutput = false
	return c.be.Receive()
}

func (c *conn) sendError(e *pgError) {
	c.send(e.response())
}

func (c *conn) serve() {
	defer c.nc.Close()
	defer func() {
		if r := recover(); r != nil {
			c.s.cfg.Logger.Error("pgwire: connection panic", "conn", c.id, "panic", r)
			c.sendError(newError(codeInternal, fmt.Sprint("internal error: ", r)))
			c.flush()
		}
	}()
	c.setIO(c.nc)
	c.host, _, _ = net.SplitHostPort(c.nc.RemoteAddr().String())
	ok, err := c.startup()
	if err != nil || !ok {
		c.flush()
		return
	}
	if !c.s.register(c) {
		c.sendError(newError(codeTooManyConnections, "sorry, too many clients already"))
		c.flush()
		return
	}
	defer c.s.unregister(c)
	defer c.endSession()
	c.loop()
}

// startup handles SSLRequest, GSSENCRequest, CancelRequest and the
// StartupMessage, then authenticates. ok is false when the connection
// should close without an error (cancel requests).
func (c *conn) startup() (bool, error) {
	for {
		msg, err := c.be.ReceiveStartupMessage()
		if err != nil {
			return false, err
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if c.s.cfg.TLS == nil || c.tls {
				if _, err := c.nc.Write([]byte{'N'}); err != nil {
					return false, err
				}
				continue
			}
			if _, err := c.nc.Write([]byte{'S'}); err != nil {
				return false, err
			}
			tc := tls.Server(c.nc, c.s.cfg.TLS)
			if err := tc.HandshakeContext(c.ctx); err != nil {
				return false, err
			}
			c.nc, c.tls = tc, true
			c.setIO(tc)
		case *pgproto3.GSSEncRequest:
			if _, err := c.nc.Write([]byte{'N'}); err != nil {
				return false, err
			}
		case *pgproto3.CancelRequest:
			c.s.cancelQuery(m.ProcessID, m.SecretKey)
			return false, nil
		case *pgproto3.StartupMessage:
			return c.begin(m)
		default:
			c.sendError(newError(codeProtocolViolation, "unexpected startup message"))
			return false, nil
		}
	}
}

func (c *conn) begin(m *pgproto3.StartupMessage) (bool, error) {
	c.user = m.Parameters["user"]
	if c.user == "" {
		c.sendError(newError(codeInvalidAuthSpec, "no PostgreSQL user name specified in startup packet"))
		return false, nil
	}
	c.db = m.Parameters["database"]
	if c.db == "" {
		c.db = c.user
	}
	if perr := c.authenticate(c.user); perr != nil {
		c.sendError(perr)
		return false, nil
	}
	base := gmssql.NewBaseSessionWithClientServer(c.s.Addr().String(), gmssql.Client{Address: c.host, User: c.user}, c.id)
	c.sess = c.s.engine.NewSession(base, txn.Principal{Name: c.user, Host: c.host})
	if !c.databaseExists(c.db) {
		if c.db != c.user || m.Parameters["database"] != "" && m.Parameters["database"] != c.user {
			c.sendError(newError(codeInvalidCatalog, fmt.Sprintf("database %q does not exist", c.db)))
			return false, nil
		}
		c.db = "postgres" // libpq's default database is the user name
	}
	c.sess.SetCurrentDatabase(c.db)
	c.initIsolation()
	for k, v := range m.Parameters {
		perr := c.startupParam(k, v)
		if k == "options" {
			perr = c.startupOptions(v)
		}
		if perr != nil {
			c.sendError(perr)
			return false, nil
		}
	}
	c.send(&pgproto3.AuthenticationOk{})
	for _, k := range reportedSettings {
		c.send(&pgproto3.ParameterStatus{Name: k, Value: c.setting(k)})
	}
	c.send(&pgproto3.BackendKeyData{ProcessID: c.id, SecretKey: c.secret})
	c.send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	return true, nil
}

// databaseExists looks past privileges, as PostgreSQL grants CONNECT to
// every user by default: a user without grants (a member who only votes)
// connects and sees nothing, and a missing database is still 3D000.
func (c *conn) databaseExists(name string) bool {
	ctx := c.newContext(context.Background())
	// The catalog read opens a transaction; the session's first
	// statement must not run in its (by then old) snapshot.
	defer c.dropAnalysisTxn()
	return c.s.engine.Provider.HasDatabase(ctx, name)
}

func (c *conn) newContext(goctx context.Context) *gmssql.Context {
	ctx := gmssql.NewContext(goctx, gmssql.WithSession(c.sess))
	return ctx
}

func (c *conn) endSession() {
	c.sess.SessionEnd()
	c.s.engine.CloseSession(c.id)
}

// cancelRunning interrupts the statement now running, if any.
func (c *conn) cancelRunning() {
	c.runMu.Lock()
	if c.runCancel != nil {
		c.runCancel()
	}
	c.runMu.Unlock()
}

func (c *conn) txStatus() byte {
	switch {
	case c.failed:
		return 'E'
	case c.inTxn:
		return 'T'
	}
	return 'I'
}

// observe runs a statement, telling Config.Statements.
func (c *conn) observe(run func()) {
	o := c.s.cfg.Statements
	if o == nil {
		run()
		return
	}
	o.Enter()
	defer o.Exit()
	run()
}

func (c *conn) loop() {
	// skipToSync: an extended-protocol message failed; the rest up to
	// Sync is discarded.
	skipToSync := false
	for {
		msg, err := c.receive()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.ErrUnexpectedEOF) {
				c.sendError(newError(codeProtocolViolation, err.Error()))
				c.flush()
			}
			return
		}
		if skipToSync {
			switch msg.(type) {
			case *pgproto3.Sync:
				skipToSync = false
			case *pgproto3.Terminate:
				return
			default:
				continue
			}
		}
		var perr *pgError
		switch m := msg.(type) {
		case *pgproto3.Query:
			c.observe(func() { c.simpleQuery(m.String) })
			c.send(&pgproto3.ReadyForQuery{TxStatus: c.txStatus()})
		case *pgproto3.Parse:
			perr = c.parse(m)
		case *pgproto3.Bind:
			perr = c.bind(m)
		case *pgproto3.Describe:
			perr = c.describe(m)
		case *pgproto3.Execute:
			c.observe(func() { perr = c.execute(m) })
		case *pgproto3.Close:
			if m.ObjectType == 'S' {
				delete(c.stmts, m.Name)
			} else {
				delete(c.portals, m.Name)
			}
			c.send(&pgproto3.CloseComplete{})
		case *pgproto3.Sync:
			delete(c.portals, "")
			c.send(&pgproto3.ReadyForQuery{TxStatus: c.txStatus()})
		case *pgproto3.Flush:
			if c.flush() != nil {
				return
			}
		case *pgproto3.Terminate:
			return
		case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
			// Stray COPY traffic after a refused COPY is ignored.
		default:
			perr = newError(codeProtocolViolation, fmt.Sprintf("unexpected message %T", msg))
		}
		if perr != nil {
			c.sendError(perr)
			skipToSync = true
		}
		switch msg.(type) {
		case *pgproto3.Parse, *pgproto3.Bind, *pgproto3.Describe, *pgproto3.Execute, *pgproto3.Close:
			c.holdOutput = true
		}
	}
}
