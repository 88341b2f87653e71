package cluster

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestHCLogger(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := HCLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), "raft")
	if l.IsTrace() || !l.IsDebug() || l.GetLevel() != hclog.Debug {
		t.Fatalf("levels: trace %v debug %v level %v; want the handler's Debug", l.IsTrace(), l.IsDebug(), l.GetLevel())
	}
	for _, tc := range []struct {
		log  func()
		want string // "" means nothing logged
	}{
		{func() { l.Trace("hidden") }, ""},
		{func() { l.Info("elected", "term", 3) }, `level=INFO msg=elected logger=raft term=3`},
		{func() { l.Named("net").With("peer", "n2").Warn("slow") }, `level=WARN msg=slow logger=raft.net peer=n2`},
		{func() { l.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Error}).Print("boom") }, `level=ERROR msg=boom logger=raft`},
	} {
		buf.Reset()
		tc.log()
		got := strings.TrimSpace(buf.String())
		if i := strings.Index(got, "level="); i >= 0 {
			got = got[i:]
		}
		if got != tc.want {
			t.Errorf("logged %q, want %q", got, tc.want)
		}
	}
}
