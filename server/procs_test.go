package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	wiremysql "github.com/cofferdb/coffer/wire/mysql"
	"github.com/jackc/pgx/v5"
)

// waitProcs waits until GOMAXPROCS is want.
func waitProcs(t *testing.T, want int, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.GOMAXPROCS(0) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: GOMAXPROCS %d, want %d", what, runtime.GOMAXPROCS(0), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stayProcs checks that GOMAXPROCS stays want for longer than the
// governor needs to narrow.
func stayProcs(t *testing.T, want int, what string) {
	t.Helper()
	end := time.Now().Add(3 * narrowAfter)
	for time.Now().Before(end) {
		if got := runtime.GOMAXPROCS(0); got != want {
			t.Fatalf("%s: GOMAXPROCS %d, want %d", what, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newTestGovernor is a governor on a machine of at least two CPUs with no
// GOMAXPROCS in the environment; it returns the default GOMAXPROCS.
func newTestGovernor(t *testing.T) (*procsGovernor, int) {
	t.Setenv("GOMAXPROCS", "")
	runtime.SetDefaultGOMAXPROCS()
	wide := runtime.GOMAXPROCS(0)
	if wide < 2 {
		t.Skipf("one CPU: the governor has nothing to do (GOMAXPROCS %d)", wide)
	}
	g := newProcsGovernor(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if g == nil {
		t.Fatal("no governor on a machine of two CPUs")
	}
	return g, wide
}

// TestProcsGovernor: quiet narrows to one P; a second statement or a
// background job widens at once and holds it wide; Close restores it.
func TestProcsGovernor(t *testing.T) {
	g, wide := newTestGovernor(t)
	closed := false
	defer func() {
		if !closed {
			g.Close()
		}
	}()
	waitProcs(t, 1, "idle")

	g.Enter()
	stayProcs(t, 1, "one statement")
	g.Enter()
	waitProcs(t, wide, "two statements")
	g.Exit()
	g.Exit()
	waitProcs(t, 1, "statements done")

	g.Background(1)
	waitProcs(t, wide, "a flush")
	stayProcs(t, wide, "a flush still running")
	g.Background(-1)
	waitProcs(t, 1, "flush done")

	// A second statement that comes and goes between two ticks still
	// widens.
	g.Enter()
	g.Enter()
	g.Exit()
	g.Exit()
	waitProcs(t, wide, "a brief overlap")
	waitProcs(t, 1, "after the overlap")

	g.Close()
	closed = true
	if got := runtime.GOMAXPROCS(0); got != wide {
		t.Fatalf("after Close: GOMAXPROCS %d, want %d", got, wide)
	}
	if g.switches.Load() < 6 {
		t.Fatalf("%d GOMAXPROCS changes, want at least 6", g.switches.Load())
	}
}

// TestAdaptiveProcsWires: a server with AdaptiveProcs narrows when idle,
// and widens while a MySQL statement runs beside another MySQL statement
// or a Postgres one: both wires count their statements.
func TestAdaptiveProcsWires(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	runtime.SetDefaultGOMAXPROCS()
	wide := runtime.GOMAXPROCS(0)
	if wide < 2 {
		t.Skipf("one CPU (GOMAXPROCS %d)", wide)
	}
	cfg := DefaultConfig()
	cfg.DataDir, cfg.MySQLAddr, cfg.PGAddr = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
	cfg.AdminPassword, cfg.CacheSize, cfg.AdaptiveProcs = "pw", 8<<20, true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		s.Close()
		if got := runtime.GOMAXPROCS(0); got != wide {
			t.Errorf("after Close: GOMAXPROCS %d, want %d", got, wide)
		}
	}()
	s.Start()
	db := adminDB(t, s)
	if _, err := db.Exec("CREATE DATABASE IF NOT EXISTS p"); err != nil {
		t.Fatal(err)
	}
	waitProcs(t, 1, "idle server")

	// Narrow, a connection sending statements back to back waits for
	// them in the kernel (wire/mysql, LoneClient).
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	waits := wiremysql.KernelReadWaits()
	for range 20 {
		if _, err := conn.ExecContext(context.Background(), "SELECT 1"); err != nil {
			t.Fatal(err)
		}
	}
	if got := wiremysql.KernelReadWaits() - waits; got == 0 {
		t.Error("a lone client on a narrow node: no kernel read waits")
	}
	// Its commits' WAL writes are made inline (storage/walfs_direct.go),
	// where the filesystem takes direct writes.
	if _, err := conn.ExecContext(context.Background(), "CREATE TABLE p.t (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	inline := s.db.Stats().InlineWALWrites
	for i := range 20 {
		if _, err := conn.ExecContext(context.Background(), "INSERT INTO p.t VALUES (?)", i); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.db.Stats().InlineWALWrites - inline; got < 10 && directWAL(t) {
		t.Errorf("20 inserts from a lone client: %d inline WAL writes", got)
	}
	conn.Close()

	for _, second := range []string{"mysql", "postgres"} {
		sleeping := make(chan error, 1)
		go func() {
			_, err := db.Exec("SELECT SLEEP(3)")
			sleeping <- err
		}()
		// The sleeping statement alone leaves the node narrow…
		time.Sleep(2 * governorTick)
		if got := runtime.GOMAXPROCS(0); got != 1 {
			t.Fatalf("one statement running: GOMAXPROCS %d, want 1", got)
		}
		// …and a second one beside it widens it.
		switch second {
		case "mysql":
			if _, err := db.Exec("SELECT 1"); err != nil {
				t.Fatal(err)
			}
		case "postgres":
			pc, err := pgx.Connect(context.Background(), fmt.Sprintf("postgres://admin:pw@%s/p?sslmode=disable", s.PGAddr()))
			if err != nil {
				t.Fatal(err)
			}
			var one int
			if err := pc.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
				t.Fatal(err)
			}
			pc.Close(context.Background())
		}
		waitProcs(t, wide, "a "+second+" statement beside a running one")
		if err := <-sleeping; err != nil {
			t.Fatal(err)
		}
		waitProcs(t, 1, "statements done")
	}
}
