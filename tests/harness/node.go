// Package harness starts Coffer nodes for system tests: as a child process
// of the coffer binary (built once per test binary run), or in-process
// through package server, so one test body can run both ways. A Node is
// reachable over the MySQL wire protocol on a free loopback port; its log
// output is kept and written to the test log when the test fails.
//
// Tests use the harness instead of sleeping: Start returns only once the
// node accepts MySQL connections, and Eventually polls a condition with a
// deadline. The harness must never reach into a node's storage; tests see
// only what a client sees.
package harness

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cofferdb/coffer/server"
)

// Mode says how a node runs.
type Mode string

const (
	// Process runs `coffer serve` as a child process: it can be killed.
	Process Mode = "process"
	// InProcess runs the node in the test binary through package server,
	// so -race sees the server's code too.
	InProcess Mode = "in-process"
)

// Modes lists every Mode, for tests whose body runs both ways.
var Modes = []Mode{Process, InProcess}

// Identity of the genesis admin and the default database.
const (
	AdminUser       = "admin"
	DefaultPassword = "secret"
	DefaultDatabase = "coffer"
)

const (
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
	// maxLoggedOutput bounds how much node output a failing test logs.
	maxLoggedOutput = 256 << 10
)

// Options configures Start.
type Options struct {
	Mode Mode
	// DataDir is the node's data directory; empty means a new t.TempDir().
	DataDir string
	// AdminPassword is the genesis admin's password; empty means
	// DefaultPassword.
	AdminPassword string

	// Replication (see StartCluster, which sets these per node). A node
	// is replicated if Raft is set or RaftAddr or Join is not empty.
	Raft bool
	// NodeID is the node's id; empty means the server's default, n1.
	NodeID string
	// RaftAddr is the node's raft address; empty picks a free loopback
	// port, kept across restarts (peers know the node by it).
	RaftAddr string
	// Join is a member's raft address: the node joins that cluster.
	Join string
	// RaftSnapshotThreshold and RaftTrailingLogs tune log compaction
	// (0: the server's defaults).
	RaftSnapshotThreshold, RaftTrailingLogs uint64
	// FaultInjection lets Partition and Heal cut the node's cluster
	// transport (a process node serves the fault endpoints on an admin
	// port).
	FaultInjection bool
}

// replicated reports whether the options turn raft on.
func (o Options) replicated() bool { return o.Raft || o.RaftAddr != "" || o.Join != "" }

// Node is one Coffer node under test. Its methods are called from the test
// goroutine; clients may use it from any goroutine.
type Node struct {
	t        testing.TB
	mode     Mode
	dataDir  string
	password string
	opts     Options
	addr     string // where the node listens, or listened last
	out      *output
	runs     int

	proc *process       // Process mode, while running
	srv  *server.Server // InProcess mode, while running
	// launch is a start that has not finished: the node runs but does
	// not serve clients yet (a joiner waiting for admission).
	launch *launch

	adminAddr   string  // process mode with FaultInjection, this run
	partitioned bool    // Partition called, Heal not yet
	pool        *sql.DB // the harness's own client, see adminPool
}

// Start starts a node and returns once it accepts MySQL connections. The
// node is stopped when the test ends; if the test failed, its output is
// written to the test log.
func Start(t testing.TB, opts Options) *Node {
	t.Helper()
	if opts.Mode == "" {
		opts.Mode = Process
	}
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	if opts.AdminPassword == "" {
		opts.AdminPassword = DefaultPassword
	}
	n := newNode(t, opts)
	if err := n.start(); err != nil {
		t.Fatalf("harness: start %s node: %v", n.mode, err)
	}
	return n
}

// StartAsync starts a node like Start but returns without waiting until
// it serves clients: a joiner that waits for admission does not. Call
// WaitStarted before using it.
func StartAsync(t testing.TB, opts Options) *Node {
	t.Helper()
	n := newNode(t, opts)
	if err := n.begin(n.nextAddr()); err != nil {
		t.Fatalf("harness: start %s node: %v", n.mode, err)
	}
	return n
}

func newNode(t testing.TB, opts Options) *Node {
	if opts.Mode == "" {
		opts.Mode = Process
	}
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	if opts.AdminPassword == "" {
		opts.AdminPassword = DefaultPassword
	}
	if opts.replicated() && opts.RaftAddr == "" {
		opts.RaftAddr = freeAddr(t)
	}
	n := &Node{t: t, mode: opts.Mode, dataDir: opts.DataDir, password: opts.AdminPassword, opts: opts, out: &output{}}
	t.Cleanup(n.cleanup)
	return n
}

// WaitStarted waits until a node started by StartAsync serves clients;
// it returns at once if it already does.
func (n *Node) WaitStarted() {
	n.t.Helper()
	if n.launch == nil {
		if !n.Running() {
			n.t.Fatal("harness: WaitStarted: node is not running")
		}
		return
	}
	if err := n.await(); err != nil {
		n.t.Fatalf("harness: start %s node: %v", n.mode, err)
	}
}

// Mode returns how the node runs.
func (n *Node) Mode() Mode { return n.mode }

// DataDir returns the node's data directory.
func (n *Node) DataDir() string { return n.dataDir }

// Password returns the admin password.
func (n *Node) Password() string { return n.password }

// Addr returns the node's MySQL address, host:port.
func (n *Node) Addr() string { return n.addr }

// Running reports whether the node serves clients: it was started (and
// WaitStarted returned) and not stopped or killed.
func (n *Node) Running() bool { return n.proc != nil || n.srv != nil }

// Starting reports whether StartAsync started the node and WaitStarted
// has not returned yet.
func (n *Node) Starting() bool { return n.launch != nil }

// NodeID returns the node's cluster id ("" if not replicated).
func (n *Node) NodeID() string { return n.opts.NodeID }

// RaftAddr returns the node's raft address ("" if not replicated).
func (n *Node) RaftAddr() string { return n.opts.RaftAddr }

// Output returns everything the node logged so far, across restarts.
func (n *Node) Output() string { return n.out.String() }

// Kill ends a process node with SIGKILL, as a crash would, and waits for it
// to exit. In-process nodes cannot be killed; the test fails.
func (n *Node) Kill() {
	n.t.Helper()
	if n.mode != Process {
		n.t.Fatalf("harness: Kill needs a %s node, this one is %s", Process, n.mode)
	}
	p := n.proc
	if n.launch != nil {
		p, n.launch = n.launch.proc, nil
	}
	if p == nil {
		n.t.Fatal("harness: Kill: node is not running")
	}
	n.closePool()
	err := p.kill()
	n.proc, n.partitioned = nil, false
	n.out.note("harness: killed with SIGKILL")
	if err != nil {
		n.t.Fatalf("harness: kill: %v", err)
	}
}

// Stop shuts the node down cleanly (SIGTERM for a process) and waits; the
// test fails if shutdown hangs or the process exits with an error.
func (n *Node) Stop() {
	n.t.Helper()
	if err := n.stop(); err != nil {
		n.t.Fatalf("harness: stop: %v", err)
	}
}

// Restart stops the node if it runs, then starts it again on the same data
// directory and, if it is free, the same address. Clients should use new
// pools afterwards: connections to an in-process node outlive its Close
// (wire/mysql does not close them) and then fail with "storage: closed".
func (n *Node) Restart() {
	n.t.Helper()
	if err := n.stop(); err != nil {
		n.t.Fatalf("harness: stop before restart: %v", err)
	}
	if err := n.start(); err != nil {
		n.t.Fatalf("harness: restart: %v", err)
	}
}

// launch is a node start in progress: a process that has not printed
// its listening line, or an in-process server.NewContext that has not
// returned.
type launch struct {
	addr string // the MySQL address asked for
	proc *process

	cancel context.CancelFunc
	done   chan struct{} // closed when NewContext returned
	srv    *server.Server
	err    error
}

// nextAddr is the MySQL address to start on: the last one, so DSNs stay
// stable across restarts, or a free port.
func (n *Node) nextAddr() string {
	if n.addr != "" {
		return n.addr
	}
	return "127.0.0.1:0"
}

func (n *Node) start() error {
	addr := n.nextAddr()
	err := n.begin(addr)
	if err == nil {
		err = n.await()
	}
	if err != nil && addr != "127.0.0.1:0" && n.mysqlAddrTaken(err) {
		n.out.note("harness: address taken, starting on a new port")
		if err = n.begin("127.0.0.1:0"); err == nil {
			err = n.await()
		}
	}
	return err
}

// mysqlAddrTaken reports whether a start failed because the MySQL
// address is taken (not the raft address, which must not change).
func (n *Node) mysqlAddrTaken(err error) bool {
	msg := err.Error()
	if !strings.Contains(msg, "address already in use") {
		return false
	}
	return n.opts.RaftAddr == "" || !strings.Contains(msg, n.opts.RaftAddr+": bind")
}

// begin starts the node on the MySQL address addr without waiting.
func (n *Node) begin(addr string) error {
	n.runs++
	n.out.note(fmt.Sprintf("harness: start #%d (%s) on %s, data dir %s", n.runs, n.mode, addr, n.dataDir))
	var err error
	if n.mode == InProcess {
		n.launch, err = n.launchInProcess(addr)
	} else {
		n.launch, err = n.launchProcess(addr)
	}
	return err
}

// await waits until the launched node serves clients.
func (n *Node) await() error {
	l := n.launch
	n.launch = nil
	if n.mode == InProcess {
		return n.awaitInProcess(l)
	}
	return n.awaitProcess(l.proc)
}

func (n *Node) stop() error {
	n.closePool()
	n.partitioned = false
	switch {
	case n.launch != nil && n.launch.proc != nil:
		p := n.launch.proc
		n.launch = nil
		err := p.terminate()
		n.out.note("harness: stopped with SIGTERM while starting")
		return err
	case n.launch != nil:
		l := n.launch
		n.launch = nil
		l.cancel()
		<-l.done
		n.out.note("harness: cancelled an in-process start")
		if l.srv != nil {
			return l.srv.Close()
		}
		return nil
	case n.proc != nil:
		p := n.proc
		n.proc = nil
		err := p.terminate()
		n.out.note("harness: stopped with SIGTERM")
		return err
	case n.srv != nil:
		srv := n.srv
		n.srv = nil
		err := srv.Close()
		n.out.note("harness: closed in-process server")
		return err
	}
	return nil
}

func (n *Node) cleanup() {
	if err := n.stop(); err != nil {
		n.t.Errorf("harness: stop at test end: %v", err)
	}
	if !n.t.Failed() {
		return
	}
	out := n.Output()
	if len(out) > maxLoggedOutput {
		out = "…\n" + out[len(out)-maxLoggedOutput:]
	}
	n.t.Logf("output of coffer node (%s, data dir %s):\n%s", n.mode, n.dataDir, out)
}

// cleanEnv is the test's environment without COFFER_* variables, so a
// developer's settings cannot change what the node under test does.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COFFER_") {
			env = append(env, kv)
		}
	}
	return env
}

// errNotReady is returned while a node does not answer yet.
var errNotReady = errors.New("harness: node not ready")
