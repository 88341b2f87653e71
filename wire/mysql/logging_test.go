package mysql

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// TestLogrusLevels: go-mysql-server's and vitess's error entries reach
// the node's log as errors, except a write to a connection the client (or
// the server's shutdown) already closed, which is debug.
func TestLogrusLevels(t *testing.T) {
	var buf bytes.Buffer
	h := slogHook{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	for _, c := range []struct {
		msg  string
		want string // "" : not logged at info
	}{
		{"Conn 3: Flush() failed: write tcp 127.0.0.1:13306->127.0.0.1:42218: use of closed network connection", ""},
		{"Conn 4: Flush() failed: write tcp 127.0.0.1:13306->127.0.0.1:1: write: broken pipe", ""},
		{"Conn 5: Error reading packet: read: connection reset by peer", ""},
		{"Conn 6: something real went wrong", "level=ERROR"},
	} {
		buf.Reset()
		if err := h.Fire(&logrus.Entry{Level: logrus.ErrorLevel, Message: c.msg, Data: logrus.Fields{}}); err != nil {
			t.Fatal(err)
		}
		got := buf.String()
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%q logged %q, want %q", c.msg, got, c.want)
		}
	}
}
