package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
)

// postgresSystem is one PostgreSQL server with durable commits
// (fsync=on, synchronous_commit=on) and 512 MiB of shared buffers, like
// MariaDB's buffer pool. As root it runs as the postgres user, which
// initdb requires.
type postgresSystem struct {
	binDir   string
	version  string
	endpoint Endpoint
	data     string
	asUser   *user.User // nil: run as ourselves
	proc     *child
}

func newPostgres() *postgresSystem { return &postgresSystem{} }

func (p *postgresSystem) Name() string       { return PostgreSQL }
func (p *postgresSystem) Endpoint() Endpoint { return p.endpoint }
func (p *postgresSystem) Version() string    { return p.version }

// postgresBinDir finds the newest /usr/lib/postgresql/N/bin.
func postgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("bench: no /usr/lib/postgresql/*/bin/postgres (install postgresql)")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start runs initdb into its own directory: as root that directory is
// owned by postgres and made outside dir, whose parents postgres may not
// be able to enter.
func (p *postgresSystem) Start(ctx context.Context, dir string) error {
	var err error
	if p.binDir, err = postgresBinDir(); err != nil {
		return err
	}
	if p.version, err = commandOutput(filepath.Join(p.binDir, "postgres"), "--version"); err != nil {
		return err
	}
	home := dir
	if os.Geteuid() == 0 {
		if p.asUser, err = user.Lookup("postgres"); err != nil {
			return fmt.Errorf("bench: running as root, PostgreSQL needs a postgres user: %w", err)
		}
		if home, err = os.MkdirTemp("", "coffer-bench-pg-"); err != nil {
			return err
		}
		if err := p.chown(home); err != nil {
			return err
		}
	}
	p.data = filepath.Join(home, "data")
	if out, err := p.command("initdb", "-D", p.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, tail(string(out), 800))
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	p.endpoint = Endpoint{Wire: WirePostgres, Host: "127.0.0.1", Port: port, User: "postgres", Database: "bench"}
	cmd := p.command("postgres", "-D", p.data,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+home,
		"-c", "fsync=on",
		"-c", "synchronous_commit=on",
		"-c", "shared_buffers=512MB",
		"-c", "max_connections=200")
	if p.proc, err = startChild(cmd, filepath.Join(dir, "postgres.log")); err != nil {
		return err
	}
	admin := p.endpoint
	admin.Database = "postgres"
	if err := pollUntil(ctx, "postgresql", p.proc.exited, func(ctx context.Context) error { return pgPing(ctx, admin) }); err != nil {
		_ = p.proc.stop(p.postmasterPID(), syscall.SIGKILL)
		return fmt.Errorf("%w\n%s", err, p.proc.logTail())
	}
	conn, err := pgx.Connect(ctx, pgDSN(admin))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE bench"); err != nil {
		return fmt.Errorf("postgresql: create database bench: %w", err)
	}
	return nil
}

func (p *postgresSystem) chown(path string) error {
	uid, _ := strconv.Atoi(p.asUser.Uid)
	gid, _ := strconv.Atoi(p.asUser.Gid)
	return os.Chown(path, uid, gid)
}

// command runs a PostgreSQL binary, through runuser when root.
func (p *postgresSystem) command(name string, args ...string) *exec.Cmd {
	bin := filepath.Join(p.binDir, name)
	if p.asUser == nil {
		return exec.Command(bin, args...)
	}
	return exec.Command("runuser", append([]string{"-u", p.asUser.Username, "--", bin}, args...)...)
}

// postmasterPID reads the server's pid from postmaster.pid: under runuser
// our child is runuser, not the postmaster.
func (p *postgresSystem) postmasterPID() int {
	b, err := os.ReadFile(filepath.Join(p.data, "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

// Stop asks for a fast shutdown (SIGINT) and removes the data directory
// made outside the run's temp dir.
func (p *postgresSystem) Stop() error {
	err := p.proc.stop(p.postmasterPID(), syscall.SIGINT)
	if p.asUser != nil && p.data != "" {
		_ = os.RemoveAll(filepath.Dir(p.data))
	}
	return err
}

func pgDSN(e Endpoint) string {
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", e.User, e.Addr(), e.Database)
}

func pgPing(ctx context.Context, e Endpoint) error {
	conn, err := pgx.Connect(ctx, pgDSN(e))
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}
