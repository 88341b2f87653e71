package mysql

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/sirupsen/logrus"
)

// routeLogrus sends go-mysql-server's and vitess's logrus output to the
// node's slog logger. Their warnings are mostly a client's failed query
// ("error running query" with a stack), so everything below error is debug.
func routeLogrus(l *slog.Logger) {
	logrus.SetOutput(io.Discard)
	logrus.SetFormatter(nullFormatter{}) // the hook formats; logrus's own output is discarded
	// Formatting every per-connection and per-query entry costs real CPU:
	// below warn they are produced only when the node logs at debug.
	logrus.SetLevel(logrus.WarnLevel)
	if l.Enabled(context.Background(), slog.LevelDebug) {
		logrus.SetLevel(logrus.DebugLevel)
	}
	logrus.StandardLogger().ReplaceHooks(logrus.LevelHooks{})
	logrus.AddHook(slogHook{l})
}

type slogHook struct{ l *slog.Logger }

func (slogHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h slogHook) Fire(e *logrus.Entry) error {
	level := slog.LevelDebug
	switch {
	case e.Level <= logrus.ErrorLevel && clientGone(e.Message):
		// A write to a connection the client closed, or that the
		// server's shutdown closed, is no server error.
		level = slog.LevelDebug
	case e.Level <= logrus.ErrorLevel:
		level = slog.LevelError
	}
	if !h.l.Enabled(context.Background(), level) {
		return nil
	}
	attrs := make([]any, 0, 2*len(e.Data)+2)
	attrs = append(attrs, "component", "gms")
	for k, v := range e.Data {
		attrs = append(attrs, k, v)
	}
	h.l.Log(context.Background(), level, e.Message, attrs...)
	return nil
}

// clientGone reports whether msg is vitess failing to write to or read
// from a connection that is already closed.
func clientGone(msg string) bool {
	for _, s := range []string{"use of closed network connection", "broken pipe", "connection reset by peer"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

type nullFormatter struct{}

func (nullFormatter) Format(*logrus.Entry) ([]byte, error) { return nil, nil }
