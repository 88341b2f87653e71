package harness

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Config returns a driver configuration for the admin user on the default
// database; callers may change it before FormatDSN or NewConnector.
func (n *Node) Config() *mysql.Config {
	return n.ConfigFor(AdminUser, n.password, DefaultDatabase)
}

// ConfigFor returns a driver configuration for user on database db.
func (n *Node) ConfigFor(user, password, db string) *mysql.Config {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.DBName = user, password, db
	c.Net, c.Addr = "tcp", n.addr
	c.Timeout = 5 * time.Second
	return c
}

// DiscardLogger silences the driver's own log (a Config's Logger) for
// clients whose connections a test breaks on purpose.
var DiscardLogger mysql.Logger = discardLogger{}

type discardLogger struct{}

func (discardLogger) Print(...any) {}

// DSN returns the admin user's DSN for the default database.
func (n *Node) DSN() string { return n.Config().FormatDSN() }

// Open returns a pool for the admin user on the default database, closed
// when the test ends.
func (n *Node) Open(t testing.TB) *sql.DB {
	t.Helper()
	return OpenConfig(t, n.Config())
}

// OpenConfig returns a pool for c, closed when the test ends.
func OpenConfig(t testing.TB, c *mysql.Config) *sql.DB {
	t.Helper()
	conn, err := mysql.NewConnector(c)
	if err != nil {
		t.Fatalf("harness: connector: %v", err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db
}

// MustExec runs each statement on db and fails the test on the first error.
func MustExec(t testing.TB, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.ExecContext(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// MySQLError returns the server error inside err, or nil.
func MySQLError(err error) *mysql.MySQLError {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me
	}
	return nil
}

// Errno returns the MySQL error number inside err, or 0.
func Errno(err error) uint16 {
	if me := MySQLError(err); me != nil {
		return me.Number
	}
	return 0
}

// SQLState returns the SQLSTATE inside err, or "".
func SQLState(err error) string {
	if me := MySQLError(err); me != nil {
		return string(me.SQLState[:])
	}
	return ""
}

// readyConfig is the client configuration that checks a start: a
// replicated node is ready once it accepts connections, with no database
// selected, since selecting one reads through the leader and a
// restarted member may wait for the rest of its cluster.
func (n *Node) readyConfig() *mysql.Config {
	c := n.Config()
	if n.opts.replicated() {
		c.DBName = ""
	}
	return c
}

// waitReady polls until a client can connect and ping, the deadline
// passes, or exited is closed.
func waitReady(c *mysql.Config, deadline time.Time, exited <-chan struct{}) error {
	c = c.Clone()
	c.Timeout = time.Second
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	err = poll(deadline, exited, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("%w: %v", errNotReady, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("node at %s: %w", c.Addr, err)
	}
	return nil
}
