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
}

// Node is one Coffer node under test. Its methods are called from the test
// goroutine; clients may use it from any goroutine.
type Node struct {
	t        testing.TB
	mode     Mode
	dataDir  string
	password string
	addr     string // where the node listens, or listened last
	out      *output
	runs     int

	proc *process       // Process mode, while running
	srv  *server.Server // InProcess mode, while running
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
	n := &Node{t: t, mode: opts.Mode, dataDir: opts.DataDir, password: opts.AdminPassword, out: &output{}}
	t.Cleanup(n.cleanup)
	if err := n.start(); err != nil {
		t.Fatalf("harness: start %s node: %v", n.mode, err)
	}
	return n
}

// Mode returns how the node runs.
func (n *Node) Mode() Mode { return n.mode }

// DataDir returns the node's data directory.
func (n *Node) DataDir() string { return n.dataDir }

// Password returns the admin password.
func (n *Node) Password() string { return n.password }

// Addr returns the node's MySQL address, host:port.
func (n *Node) Addr() string { return n.addr }

// Running reports whether the node was started and not stopped or killed.
func (n *Node) Running() bool { return n.proc != nil || n.srv != nil }

// Output returns everything the node logged so far, across restarts.
func (n *Node) Output() string { return n.out.String() }

// Kill ends a process node with SIGKILL, as a crash would, and waits for it
// to exit. In-process nodes cannot be killed; the test fails.
func (n *Node) Kill() {
	n.t.Helper()
	if n.mode != Process {
		n.t.Fatalf("harness: Kill needs a %s node, this one is %s", Process, n.mode)
	}
	if n.proc == nil {
		n.t.Fatal("harness: Kill: node is not running")
	}
	err := n.proc.kill()
	n.proc = nil
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

func (n *Node) start() error {
	addr := "127.0.0.1:0"
	if n.addr != "" {
		addr = n.addr // keep DSNs stable across restarts
	}
	n.runs++
	n.out.note(fmt.Sprintf("harness: start #%d (%s) on %s, data dir %s", n.runs, n.mode, addr, n.dataDir))
	err := n.startAt(addr)
	if err != nil && addr != "127.0.0.1:0" && strings.Contains(err.Error(), "address already in use") {
		n.out.note("harness: address taken, starting on a new port")
		err = n.startAt("127.0.0.1:0")
	}
	return err
}

func (n *Node) startAt(addr string) error {
	if n.mode == InProcess {
		return n.startInProcess(addr)
	}
	return n.startProcess(addr)
}

func (n *Node) stop() error {
	switch {
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
