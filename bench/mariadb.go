package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
)

// mariadbPassword is the password of the throw-away server's bench user.
const mariadbPassword = "bench-pw"

// mariadbSystem is one mariadbd with InnoDB, durable commits
// (innodb_flush_log_at_trx_commit=1) and a 512 MiB buffer pool.
type mariadbSystem struct {
	version  string
	endpoint Endpoint
	socket   string
	proc     *child
}

func newMariaDB() *mariadbSystem { return &mariadbSystem{} }

func (m *mariadbSystem) Name() string       { return MariaDB }
func (m *mariadbSystem) Endpoint() Endpoint { return m.endpoint }
func (m *mariadbSystem) Version() string    { return m.version }

func (m *mariadbSystem) Start(ctx context.Context, dir string) error {
	bin, err := findBinary("mariadbd", "/usr/sbin/mariadbd", "/usr/sbin/mysqld")
	if err != nil {
		return err
	}
	if m.version, err = commandOutput(bin, "--version"); err != nil {
		return err
	}
	install, err := findBinary("mariadb-install-db", "/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db")
	if err != nil {
		return err
	}
	data := filepath.Join(dir, "data")
	initArgs := []string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal"}
	if os.Geteuid() == 0 {
		initArgs = append(initArgs, "--user=root")
	}
	if _, err := commandOutput(install, initArgs...); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	m.socket = filepath.Join(dir, "mariadb.sock")
	args := []string{
		"--no-defaults",
		"--datadir=" + data,
		"--port=" + strconv.Itoa(port),
		"--bind-address=127.0.0.1",
		"--socket=" + m.socket,
		"--innodb-buffer-pool-size=512M",
		"--innodb-flush-log-at-trx-commit=1",
		"--max-connections=500",
		"--skip-name-resolve",
	}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	if m.proc, err = startChild(exec.Command(bin, args...), filepath.Join(dir, "mariadb.log")); err != nil {
		return err
	}
	root := "root@unix(" + m.socket + ")/"
	if err := pollUntil(ctx, "mariadb", m.proc.exited, func(ctx context.Context) error { return pingDSN(ctx, root) }); err != nil {
		_ = m.proc.stop(0, syscall.SIGKILL)
		return fmt.Errorf("%w\n%s", err, m.proc.logTail())
	}
	m.endpoint = Endpoint{Wire: WireMySQL, Host: "127.0.0.1", Port: port, User: "bench", Password: mariadbPassword, Database: "sbtest"}
	return m.setUp(ctx, root)
}

// setUp drops the anonymous users (which would shadow bench@localhost) and
// creates the bench user and database.
func (m *mariadbSystem) setUp(ctx context.Context, rootDSN string) error {
	db, err := sql.Open("mysql", rootDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	host, _ := os.Hostname()
	stmts := []string{
		"DROP USER IF EXISTS ''@'localhost'",
		fmt.Sprintf("DROP USER IF EXISTS ''@'%s'", host),
	}
	for _, h := range []string{"%", "localhost", "127.0.0.1"} {
		stmts = append(stmts,
			fmt.Sprintf("CREATE USER IF NOT EXISTS 'bench'@'%s' IDENTIFIED BY '%s'", h, mariadbPassword),
			fmt.Sprintf("GRANT ALL ON *.* TO 'bench'@'%s'", h))
	}
	stmts = append(stmts, "CREATE DATABASE IF NOT EXISTS sbtest", "FLUSH PRIVILEGES")
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("mariadb set-up %q: %w", s, err)
		}
	}
	return nil
}

func (m *mariadbSystem) Stop() error { return m.proc.stop(0, syscall.SIGTERM) }

func pingDSN(ctx context.Context, dsn string) error {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// findBinary returns the first of name on PATH or the given paths.
func findBinary(name string, paths ...string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("bench: %s not found (install it, or let the harness install peers)", name)
}
