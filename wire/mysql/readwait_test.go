package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"
)

// tcpPair returns the server side of n loopback connections and their
// client sides.
func tcpPair(t *testing.T, n int) (server, client []*net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range n {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		server, client = append(server, s.(*net.TCPConn)), append(client, c.(*net.TCPConn))
		t.Cleanup(func() { c.Close(); s.Close() })
	}
	return server, client
}

// TestReadWaitOnlyForALoneStreak: a connection waits in the kernel only
// while the node is lone and its last readStreak packets were the
// listener's last ones.
func TestReadWaitOnlyForALoneStreak(t *testing.T) {
	server, client := tcpPair(t, 2)
	var lone atomic.Bool
	var last atomic.Pointer[readWait]
	a := newReadWait(server[0], lone.Load, &last)
	b := newReadWait(server[1], lone.Load, &last)
	if a == nil || b == nil {
		t.Skip("no kernel wait on this platform")
	}
	// waited reports whether w waited in the kernel for the bytes its
	// client has sent, which it then reads.
	waited := func(w *readWait) bool {
		i := 0
		if w == b {
			i = 1
		}
		if _, err := client[i].Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		before, answered := readWaits.Load(), readWaitsAnswered.Load()
		w.before()
		var buf [1]byte
		if _, err := server[i].Read(buf[:]); err != nil {
			t.Fatal(err)
		}
		if readWaits.Load()-before != readWaitsAnswered.Load()-answered {
			t.Fatal("a kernel wait did not see the bytes waiting")
		}
		return readWaits.Load() != before
	}
	for i := range readStreak {
		if waited(a) {
			t.Fatalf("waited after %d packets, before a streak of %d", i, readStreak)
		}
		a.after(1)
	}
	a.after(0) // a read that returned nothing is no packet
	if waited(a) {
		t.Fatal("waited while the node is not lone")
	}
	lone.Store(true)
	if !waited(a) {
		t.Fatal("no kernel wait for a lone streak")
	}
	b.after(1)
	if waited(a) || waited(b) {
		t.Fatal("waited after another connection's packet")
	}
	a.after(1)
	if waited(a) {
		t.Fatal("the streak did not restart after another connection's packet")
	}

	// Waits that time out end the streak; readWaitMisses of them in a
	// row end the connection's kernel waits, one that is answered
	// forgives those before it.
	timedOut := func(w *readWait) bool {
		for range readStreak {
			w.after(1)
		}
		before, answered := readWaits.Load(), readWaitsAnswered.Load()
		w.before() // nothing sent: waits until readWaitTimeout
		if readWaitsAnswered.Load() != answered {
			t.Fatal("a kernel wait with nothing sent was answered")
		}
		return readWaits.Load() != before
	}
	for range readWaitMisses - 1 {
		if !timedOut(a) {
			t.Fatal("no kernel wait after a new streak")
		}
	}
	if waited(a) {
		t.Fatal("waited right after a wait that timed out, without a new streak")
	}
	for range readStreak {
		a.after(1)
	}
	if !waited(a) {
		t.Fatal("no kernel wait after a new streak")
	}
	for i := range readWaitMisses {
		if !timedOut(a) {
			t.Fatalf("no kernel wait after %d timeouts in a row following an answered one", i)
		}
	}
	if timedOut(a) {
		t.Fatalf("still waiting in the kernel after %d timeouts in a row", readWaitMisses)
	}
}

// TestPollerWaitsForBytes: the kernel wait returns when bytes arrive,
// not only at its timeout.
func TestPollerWaitsForBytes(t *testing.T) {
	server, client := tcpPair(t, 1)
	var p poller
	if !p.init(server[0]) {
		t.Skip("no kernel wait on this platform")
	}
	for _, pending := range []bool{true, false} {
		if pending {
			if _, err := client[0].Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		done, ready := make(chan struct{}), false
		go func() { ready = p.wait(time.Hour); close(done) }()
		// (If the bytes are written only after the wait began, the wait
		// must be woken by them: its timeout is an hour.)
		if !pending {
			if _, err := client[0].Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-done:
			if !ready {
				t.Fatalf("bytes pending=%v: the wait did not report them", pending)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("bytes pending=%v: the wait did not return when they arrived", pending)
		}
		var b [1]byte
		if _, err := server[0].Read(b[:]); err != nil || b[0] != 'x' {
			t.Fatalf("read %q, %v", b[:], err)
		}
	}
}

// TestLoneClientServed: with LoneClient set, a client process sending
// statements back to back has its connection wait for them in the
// kernel and gets every answer right, as does a second connection that
// takes turns with it; without LoneClient no connection waits there. The
// client is another process (loneClientHelper): one in this process could
// not send while the waiting thread holds a P it needs.
func TestLoneClientServed(t *testing.T) {
	for _, lone := range []bool{false, true} {
		t.Run(fmt.Sprintf("lone=%v", lone), func(t *testing.T) {
			db, _ := startServerWith(t, func(c *Config) {
				if lone {
					c.LoneClient = func() bool { return true }
				}
			})
			if _, err := db.Exec("CREATE TABLE rw (id INT PRIMARY KEY, v INT)"); err != nil {
				t.Fatal(err)
			}
			waits, answered := readWaits.Load(), readWaitsAnswered.Load()
			cmd := exec.Command(os.Args[0], "-test.run=^TestLoneClientHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), loneClientDSN+"="+dsnOf(t, db))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("client process: %v\n%s", err, out)
			}
			waits, answered = readWaits.Load()-waits, readWaitsAnswered.Load()-answered
			switch {
			case lone && answered == 0:
				t.Fatalf("no kernel wait answered for a lone client (%d waits)", waits)
			case !lone && waits != 0:
				t.Fatalf("%d kernel waits without LoneClient", waits)
			}
			var n int
			if err := db.QueryRow("SELECT COUNT(*) FROM rw").Scan(&n); err != nil || n != 60 {
				t.Fatalf("%d rows, %v; want 60", n, err)
			}
		})
	}
}

// loneClientDSN names the environment variable that makes
// TestLoneClientHelper the client process of TestLoneClientServed.
const loneClientDSN = "COFFER_TEST_LONE_CLIENT_DSN"

// TestLoneClientHelper is TestLoneClientServed's client process; run
// directly, without its environment variable, it does nothing.
func TestLoneClientHelper(t *testing.T) {
	dsn := os.Getenv(loneClientDSN)
	if dsn == "" {
		return
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ins, err := db.Prepare("INSERT INTO rw VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := ins.Exec(i, 2*i); err != nil {
			t.Fatal(err)
		}
	}
	// A second connection takes turns with the first.
	db.SetMaxOpenConns(2)
	other, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for i := range 10 {
		var v int
		if err := other.QueryRowContext(context.Background(), "SELECT v FROM rw WHERE id = ?", i).Scan(&v); err != nil || v != 2*i {
			t.Fatalf("other connection: id %d: v %d, %v", i, v, err)
		}
		if _, err := ins.Exec(50+i, 2*(50+i)); err != nil {
			t.Fatal(err)
		}
	}
}
