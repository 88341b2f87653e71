package harness

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/cofferdb/coffer/server"
)

// serverConfig is the in-process node's configuration for this run.
func (n *Node) serverConfig(addr string, log io.Writer) server.Config {
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.MySQLAddr, cfg.AdminPassword = n.dataDir, addr, n.password
	cfg.PGAddr = "" // parallel nodes must not share the default Postgres port
	cfg.CacheSize = 16 << 20
	cfg.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if o := n.opts; o.replicated() {
		if o.NodeID != "" {
			cfg.NodeID = o.NodeID
		}
		cfg.RaftAddr, cfg.Join = o.RaftAddr, o.Join
		cfg.RaftSnapshotThreshold, cfg.RaftTrailingLogs = o.RaftSnapshotThreshold, o.RaftTrailingLogs
		// Partition calls the cluster directly: no admin port needed.
	}
	return cfg
}

// launchInProcess runs server.NewContext, which blocks while a joiner
// waits for admission and catches up, in a goroutine.
func (n *Node) launchInProcess(addr string) (*launch, error) {
	cfg := n.serverConfig(addr, n.out.newRun())
	ctx, cancel := context.WithCancel(context.Background())
	l := &launch{addr: addr, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.srv, l.err = server.NewContext(ctx, cfg)
	}()
	return l, nil
}

// awaitInProcess waits for the launched server, starts it and waits
// until it answers; on failure it closes the server.
func (n *Node) awaitInProcess(l *launch) error {
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-l.done:
	case <-timer.C:
		l.cancel()
		<-l.done
		if l.srv != nil {
			l.srv.Close()
		}
		return fmt.Errorf("server.NewContext did not return within %v", startTimeout)
	}
	l.cancel() // the context only bounds the start
	if l.err != nil {
		return fmt.Errorf("server.NewContext: %w", l.err)
	}
	srv := l.srv
	srv.Start()
	n.addr = srv.MySQLAddr().String()
	if err := waitReady(n.readyConfig(), time.Now().Add(startTimeout), nil); err != nil {
		srv.Close()
		return err
	}
	n.srv = srv
	return nil
}
