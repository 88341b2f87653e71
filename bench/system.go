package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// System names, as they appear in results.
const (
	Coffer     = "coffer"
	MariaDB    = "mariadb"
	PostgreSQL = "postgresql"
	// CofferNoLedger is Coffer with the ledger turned off
	// (COFFER_UNSAFE_NO_LEDGER): the peer that prices the ledger on
	// sysbench oltp_write_only.
	CofferNoLedger = "coffer-noledger"
	// CofferReadCommitted is Coffer's pgbench run with the client asking
	// for read committed (PGOPTIONS), PostgreSQL's default isolation:
	// the same server and data as Coffer's run, like for like with
	// PostgreSQL's.
	CofferReadCommitted = "coffer-rc"
)

// Wire protocols a system speaks.
const (
	WireMySQL    = "mysql"
	WirePostgres = "postgres"
)

// ErrNotReady is returned when a system did not accept connections in time.
var ErrNotReady = errors.New("bench: system not ready")

// startTimeout bounds how long a system may take to come up.
const startTimeout = 90 * time.Second

// Endpoint is where and as whom a client connects to a system.
type Endpoint struct {
	Wire     string
	Host     string
	Port     int
	User     string
	Password string
	Database string
}

// Addr is host:port.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// system is one database under test, running on loopback with a private
// data directory.
type system interface {
	Name() string
	// Start creates the data directory under dir and starts the server.
	Start(ctx context.Context, dir string) error
	// Endpoint is valid after Start.
	Endpoint() Endpoint
	// Version is the server's own version line.
	Version() string
	// Stop shuts the server down and waits for it.
	Stop() error
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// pollUntil calls ready every 100 ms until it returns nil, the deadline
// passes or exited is closed.
func pollUntil(ctx context.Context, what string, exited <-chan struct{}, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = ready(ctx); last == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%w: %s exited during start-up (last error: %v)", ErrNotReady, what, last)
		case <-ctx.Done():
			return fmt.Errorf("%w: %s after %v: %v", ErrNotReady, what, startTimeout, last)
		case <-tick.C:
		}
	}
}

// child is a server process started by the harness, its output in a log
// file so a failed start can show why.
type child struct {
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	err    error
}

func startChild(cmd *exec.Cmd, logPath string) (*child, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group: a Ctrl-C to the harness reaches the servers only
	// through Stop, so they shut down in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	c := &child{cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		f.Close()
		close(c.exited)
	}()
	return c, nil
}

// stop signals pid (the child's own unless another is given, as for a
// server started through runuser) and waits for the child to exit,
// killing it after a grace period.
func (c *child) stop(pid int, sig syscall.Signal) error {
	if c == nil {
		return nil
	}
	if pid == 0 {
		pid = c.cmd.Process.Pid
	}
	_ = syscall.Kill(pid, sig)
	select {
	case <-c.exited:
		return nil
	case <-time.After(60 * time.Second):
	}
	_ = c.cmd.Process.Kill()
	_ = syscall.Kill(pid, syscall.SIGKILL)
	<-c.exited
	return fmt.Errorf("%s did not stop within 60s; killed", c.cmd.Path)
}

// logTail is the end of the child's log, for error messages.
func (c *child) logTail() string {
	b, _ := os.ReadFile(c.log)
	return tail(string(b), 1500)
}

// commandOutput runs a short command and returns its trimmed output.
func commandOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %v: %w: %s", name, args, err, tail(string(out), 500))
	}
	return strings.TrimSpace(string(out)), nil
}
