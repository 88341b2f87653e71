package tests

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/cofferdb/coffer/tests/harness"
)

// TestBadInput sends what a careless or broken client sends and checks the
// error MySQL would give (number and SQLSTATE), and that the node keeps
// serving afterwards.
func TestBadInput(t *testing.T) {
	for _, mode := range harness.Modes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			n := harness.Start(t, harness.Options{Mode: mode})
			db := n.Open(t)
			harness.MustExec(t, db,
				"CREATE TABLE bad (id INT PRIMARY KEY, email VARCHAR(50), UNIQUE KEY (email))",
				"INSERT INTO bad VALUES (1, 'a@example.com')",
			)
			t.Run("errors", func(t *testing.T) { testErrorCodes(t, n, db) })
			t.Run("disconnect mid-transaction", func(t *testing.T) { testDisconnectMidTxn(t, n, db) })
			if mode == harness.Process {
				// SET GLOBAL would change every in-process node of this
				// test binary: go-mysql-server's globals are per process.
				t.Run("oversized packet", func(t *testing.T) { testOversizedPacket(t, n, db) })
			}
			assertServing(t, n)
		})
	}
}

func testErrorCodes(t *testing.T, n *harness.Node, db *sql.DB) {
	cases := []struct {
		name      string
		query     string
		user      string // connect as this user instead of admin
		password  string // connect with this password instead
		wantErrno uint16
		wantState string
	}{
		{name: "malformed SQL", query: "SELEC 1 FROM bad", wantErrno: 1064, wantState: "42000"},
		{name: "unknown table", query: "SELECT * FROM no_such_table", wantErrno: 1146, wantState: "42S02"},
		{name: "unknown database", query: "USE no_such_db", wantErrno: 1049, wantState: "42000"},
		{name: "duplicate primary key", query: "INSERT INTO bad VALUES (1, 'b@example.com')", wantErrno: 1062, wantState: "23000"},
		{name: "duplicate unique key", query: "INSERT INTO bad VALUES (2, 'a@example.com')", wantErrno: 1062, wantState: "23000"},
		{name: "wrong password", query: "SELECT 1", password: "wrong", wantErrno: 1045, wantState: "28000"},
		// MySQL answers an unknown user exactly like a wrong password, so
		// that user names cannot be probed.
		{name: "unknown user", query: "SELECT 1", user: "nobody", password: "wrong", wantErrno: 1045, wantState: "28000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := db
			if c.password != "" {
				user := c.user
				if user == "" {
					user = harness.AdminUser
				}
				q = harness.OpenConfig(t, n.ConfigFor(user, c.password, harness.DefaultDatabase))
			}
			_, err := q.Exec(c.query)
			me := harness.MySQLError(err)
			if me == nil {
				t.Fatalf("%s: want MySQL error %d, got %v", c.query, c.wantErrno, err)
			}
			t.Logf("%s: error %d, SQLSTATE %s: %s", c.query, me.Number, me.SQLState, me.Message)
			if me.Number != c.wantErrno {
				t.Errorf("%s: error number %d, want %d (%s)", c.query, me.Number, c.wantErrno, me.Message)
			}
			if got := string(me.SQLState[:]); got != c.wantState {
				t.Errorf("%s: SQLSTATE %s, want %s (error %d: %s)", c.query, got, c.wantState, me.Number, me.Message)
			}
		})
	}
}

// testDisconnectMidTxn drops a client's TCP connection in the middle of a
// transaction, without COMMIT or COM_QUIT: its writes must vanish.
func testDisconnectMidTxn(t *testing.T, n *harness.Node, db *sql.DB) {
	cfg := n.Config()
	var mu sync.Mutex
	var raw net.Conn
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		mu.Lock()
		raw = c
		mu.Unlock()
		return c, err
	}
	cfg.Logger = harness.DiscardLogger // the dropped connection's read error is expected
	client := harness.OpenConfig(t, cfg)
	client.SetMaxOpenConns(1)
	ctx := context.Background()
	conn, err := client.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var connID int64
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&connID); err != nil {
		t.Fatal(err)
	}
	harness.MustExec(t, conn, "BEGIN", "INSERT INTO bad VALUES (42, 'ghost@example.com')")
	var inside int
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM bad WHERE id = 42").Scan(&inside); err != nil || inside != 1 {
		t.Fatalf("inside the transaction: count %d, err %v; want the row", inside, err)
	}
	mu.Lock()
	raw.Close()
	mu.Unlock()

	// Wait until the server has noticed and ended the session.
	harness.Eventually(t, 15*time.Second, func() error {
		ids, err := processIDs(db)
		if err != nil {
			return err
		}
		if ids[connID] {
			return fmt.Errorf("connection %d still in the process list", connID)
		}
		return nil
	})
	var count int
	if err := db.QueryRow("SELECT COUNT(*) FROM bad WHERE id = 42 OR email = 'ghost@example.com'").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 0 {
		t.Fatalf("the disconnected client's uncommitted row is visible (%d rows)", count)
	}
	// The key is free: nothing of the dead transaction lingers.
	harness.MustExec(t, db, "INSERT INTO bad VALUES (42, 'ghost@example.com')")
}

// processIDs returns the connection ids SHOW PROCESSLIST lists.
func processIDs(db *sql.DB) (map[int64]bool, error) {
	rows, err := db.Query("SHOW PROCESSLIST")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	ids := map[int64]bool{}
	for rows.Next() {
		var id int64
		dest := []any{&id}
		for range cols[1:] {
			dest = append(dest, new(sql.RawBytes))
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

// testOversizedPacket sends a query larger than max_allowed_packet. MySQL
// answers 1153 (ER_NET_PACKET_TOO_LARGE, SQLSTATE 08S01) and closes that
// connection; the node must stay up for everyone else. A query above 16
// MiB under the limit (several protocol packets) must work.
func testOversizedPacket(t *testing.T, n *harness.Node, db *sql.DB) {
	big := func(size int) string { return "SELECT LENGTH('" + strings.Repeat("x", size) + "')" }
	cfg := n.Config()
	cfg.MaxAllowedPacket = 64 << 20 // the client sends whatever we ask
	cfg.Logger = harness.DiscardLogger

	t.Run("multi-packet query under the limit", func(t *testing.T) {
		const size = 17 << 20
		var got int
		if err := harness.OpenConfig(t, cfg).QueryRow(big(size)).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != size {
			t.Fatalf("LENGTH = %d, want %d", got, size)
		}
	})
	t.Run("query over max_allowed_packet", func(t *testing.T) {
		const limit = 1 << 20
		harness.MustExec(t, db, fmt.Sprintf("SET GLOBAL max_allowed_packet = %d", limit))
		t.Cleanup(func() { db.Exec("SET GLOBAL max_allowed_packet = DEFAULT") })
		var got int
		err := harness.OpenConfig(t, cfg).QueryRow(big(2 * limit)).Scan(&got)
		if err == nil {
			t.Fatalf("a %d-byte query with max_allowed_packet = %d was accepted (LENGTH = %d); want error 1153", 2*limit, limit, got)
		}
		if errno := harness.Errno(err); errno != 1153 && !errors.Is(err, mysql.ErrInvalidConn) {
			t.Errorf("want error 1153 or a closed connection, got %v", err)
		}
		t.Logf("oversized query: %v", err)
	})
	assertServing(t, n)
}

// assertServing checks that a new client can connect and query.
func assertServing(t *testing.T, n *harness.Node) {
	t.Helper()
	db := harness.OpenConfig(t, n.Config())
	var one int
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("node stopped serving: SELECT 1 = %d, %v", one, err)
	}
}
