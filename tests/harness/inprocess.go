package harness

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/cofferdb/coffer/server"
)

func (n *Node) startInProcess(addr string) error {
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.MySQLAddr, cfg.AdminPassword = n.dataDir, addr, n.password
	cfg.PGAddr = "" // parallel nodes must not share the default Postgres port
	cfg.CacheSize = 16 << 20
	cfg.Logger = slog.New(slog.NewTextHandler(io.Writer(n.out.newRun()), &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := server.New(cfg)
	if err != nil {
		return fmt.Errorf("server.New: %w", err)
	}
	srv.Start()
	n.addr = srv.MySQLAddr().String()
	if err := waitReady(n.Config(), time.Now().Add(startTimeout), nil); err != nil {
		srv.Close()
		return err
	}
	n.srv = srv
	return nil
}
