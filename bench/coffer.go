package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	_ "github.com/go-sql-driver/mysql" // MySQL-wire client for setup and the insert load
)

// cofferPassword is the admin password of the throw-away node.
const cofferPassword = "bench-pw"

// cofferSystem is one `coffer serve` process.
type cofferSystem struct {
	bin      string
	version  string
	endpoint Endpoint
	// pg is the node's Postgres wire (pgbench).
	pg        Endpoint
	adminAddr string
	proc      *child
	// extraArgs are added to `coffer serve` (cluster nodes).
	extraArgs []string
	// name is the system's name in results (Coffer, or CofferNoLedger).
	name string
	// env is added to the node's environment.
	env []string
}

func newCoffer(bin string) *cofferSystem { return &cofferSystem{bin: bin, name: Coffer} }

// newCofferNoLedger is a node that writes no ledger (benchmarks only).
func newCofferNoLedger(bin string) *cofferSystem {
	return &cofferSystem{bin: bin, name: CofferNoLedger, env: []string{"COFFER_UNSAFE_NO_LEDGER=1"}}
}

func (c *cofferSystem) Name() string       { return c.name }
func (c *cofferSystem) Endpoint() Endpoint { return c.endpoint }
func (c *cofferSystem) Version() string    { return c.version }

// PGEndpoint is the node's Postgres wire, database postgres.
func (c *cofferSystem) PGEndpoint() Endpoint { return c.pg }

// AdminAddr is the node's HTTP address (readyz, pprof).
func (c *cofferSystem) AdminAddr() string { return c.adminAddr }

func (c *cofferSystem) Start(ctx context.Context, dir string) error {
	if err := c.start(ctx, dir, true); err != nil {
		return err
	}
	return createMySQLDatabase(ctx, c.endpoint)
}

// start runs the node; with withPassword it sets the genesis admin
// password (a joining node gets the cluster's).
func (c *cofferSystem) start(ctx context.Context, dir string, withPassword bool) error {
	v, err := commandOutput(c.bin, "version")
	if err != nil {
		return err
	}
	c.version = v
	port, err := freePort()
	if err != nil {
		return err
	}
	adminPort, err := freePort()
	if err != nil {
		return err
	}
	c.endpoint = Endpoint{Wire: WireMySQL, Host: "127.0.0.1", Port: port, User: "admin", Password: cofferPassword, Database: "sbtest"}
	c.adminAddr = "127.0.0.1:" + strconv.Itoa(adminPort)
	pgPort, err := freePort()
	if err != nil {
		return err
	}
	c.pg = Endpoint{Wire: WirePostgres, Host: "127.0.0.1", Port: pgPort, User: "admin", Password: cofferPassword, Database: "postgres"}
	cmd := exec.Command(c.bin, "serve",
		"--data-dir", filepath.Join(dir, "data"),
		"--mysql-addr", c.endpoint.Addr(),
		"--pg-addr", c.pg.Addr(),
		"--admin-addr", c.adminAddr,
		"--log-level", "warn")
	cmd.Args = append(cmd.Args, c.extraArgs...)
	cmd.Env = append(os.Environ(), c.env...)
	if withPassword {
		cmd.Env = append(cmd.Env, "COFFER_ADMIN_PASSWORD="+cofferPassword)
	}
	if c.proc, err = startChild(cmd, filepath.Join(dir, "coffer.log")); err != nil {
		return err
	}
	if err := pollUntil(ctx, "coffer", c.proc.exited, c.ready); err != nil {
		_ = c.proc.stop(0, syscall.SIGKILL)
		return fmt.Errorf("%w\n%s", err, c.proc.logTail())
	}
	return nil
}

func (c *cofferSystem) ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.adminAddr+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("readyz: %s", resp.Status)
	}
	return nil
}

func (c *cofferSystem) Stop() error { return c.proc.stop(0, syscall.SIGTERM) }

// createMySQLDatabase creates e.Database, connecting without a default
// database.
func createMySQLDatabase(ctx context.Context, e Endpoint) error {
	db, err := sql.Open("mysql", mysqlDSN(e, ""))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+e.Database); err != nil {
		return fmt.Errorf("create database %s on %s: %w", e.Database, e.Addr(), err)
	}
	return nil
}

// mysqlDSN is a go-sql-driver DSN for e, with database db.
func mysqlDSN(e Endpoint, db string) string {
	return fmt.Sprintf("%s:%s@tcp(%s)/%s", e.User, e.Password, e.Addr(), db)
}
