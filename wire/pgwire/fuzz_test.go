package pgwire_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cofferdb/coffer/server"
)

// panicCounter counts connection panics the server logs.
type panicCounter struct{ n atomic.Int64 }

func (p *panicCounter) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		p.n.Add(1)
	}
	return nil
}
func (p *panicCounter) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panicCounter) WithGroup(string) slog.Handler      { return p }

func fuzzServer(f *testing.F) (*server.Server, *panicCounter) {
	pc := &panicCounter{}
	cfg := server.DefaultConfig()
	cfg.DataDir = f.TempDir()
	cfg.MySQLAddr = ""
	cfg.PGAddr = "127.0.0.1:0"
	cfg.AdminPassword = adminPassword
	cfg.UnsafeNoSync = true
	cfg.Logger = slog.New(pc)
	s, err := server.New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	s.Start()
	f.Cleanup(func() { s.Close() })
	return s, pc
}

// drain reads until the server closes the connection or goes quiet.
func drain(c net.Conn) {
	c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	io.Copy(io.Discard, c)
	c.Close()
}

// FuzzStartup sends arbitrary bytes as the first message.
func FuzzStartup(f *testing.F) {
	s, pc := fuzzServer(f)
	for _, seed := range [][]byte{
		{0, 0, 0, 8, 4, 210, 22, 47},              // SSLRequest
		{0, 0, 0, 16, 4, 210, 22, 46, 0, 0, 0, 1}, // truncated CancelRequest
		{0, 0, 0, 9, 0, 3, 0, 0, 'u'},             // StartupMessage without terminator
		{0xff, 0xff, 0xff, 0xff},                  // huge length
		{0, 0, 0, 2},                              // length below the header
		append([]byte{0, 0, 0, 23, 0, 3, 0, 0}, "user\x00admin\x00\x00"...),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", s.PGAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write(data)
		drain(c)
		if pc.n.Load() > 0 {
			t.Fatalf("server panicked on %q", data)
		}
	})
}

// FuzzMessages logs in, then sends arbitrary bytes as protocol messages.
func FuzzMessages(f *testing.F) {
	s, pc := fuzzServer(f)
	for _, seed := range []string{
		"Q\x00\x00\x00\x0dSELECT 1\x00",
		"Q\x00\x00\x00\x05",                                 // query without its string
		"P\x00\x00\x00\x10\x00SELECT $1\x00\x00\x01",        // Parse, truncated OIDs
		"B\x00\x00\x00\x0e\x00\x00\x00\x01\x00\x01\xff\xff", // Bind, short
		"P\x00\x00\x00\x16\x00SELECT $1::int\x00\x00\x00B\x00\x00\x00\x16\x00\x00\x00\x01\x00\x01\x00\x01\x00\x00\x00\x02ab\x00\x00E\x00\x00\x00\x09\x00\x00\x00\x00\x00S\x00\x00\x00\x04",
		"D\x00\x00\x00\x06Sx",   // Describe without terminator
		"E\x00\x00\x00\x04",     // Execute, short
		"X\x00\x00\x00\x04",     // Terminate
		"Z\x00\x00\x00\x04",     // not a frontend message
		"p\x00\x00\x00\x08abcd", // password after login
		"Q\xff\xff\xff\xff",     // huge length
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pc0, err := pgconn.Connect(ctx, connString(s, "admin", adminPassword, "postgres"))
		if err != nil {
			t.Fatal(err)
		}
		hj, err := pc0.Hijack()
		if err != nil {
			t.Fatal(err)
		}
		hj.Conn.Write(data)
		drain(hj.Conn)
		if pc.n.Load() > 0 {
			t.Fatalf("server panicked on %q", data)
		}
	})
}
