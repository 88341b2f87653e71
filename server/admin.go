package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// adminServer serves health checks, metrics and profiles on the admin
// address.
type adminServer struct {
	srv *http.Server
	l   net.Listener
}

func startAdmin(addr string, s *Server) (*adminServer, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("server: admin listener on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s.engineP.Load() == nil {
			http.Error(w, "starting (joining or catching up)", http.StatusServiceUnavailable)
			return
		}
		if !s.serving.Load() {
			http.Error(w, "starting (opening the client listeners)", http.StatusServiceUnavailable)
			return
		}
		if c := s.clusterP.Load(); c != nil {
			if addr, id := c.Leader(); addr == "" {
				http.Error(w, "no raft leader", http.StatusServiceUnavailable)
				return
			} else if id != "" {
				fmt.Fprintf(w, "ready seq=%d leader=%s\n", s.db.ReadSeq(), id)
				return
			}
		}
		fmt.Fprintf(w, "ready seq=%d\n", s.db.ReadSeq())
	})
	if s.cfg.UnsafeFaultInjection {
		mux.HandleFunc("POST /fault/partition", func(w http.ResponseWriter, _ *http.Request) { s.setPartitioned(w, true) })
		mux.HandleFunc("POST /fault/heal", func(w http.ResponseWriter, _ *http.Request) { s.setPartitioned(w, false) })
	}
	mux.Handle("/metrics", metricsHandler(s))
	mux.HandleFunc("/debug/storage", func(w http.ResponseWriter, _ *http.Request) {
		// pebble's LSM metrics: levels, flushes and compactions, WAL.
		m := s.db.Metrics()
		if m == nil {
			http.Error(w, "the store is closed", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "# data store\n%s", m)
		if c := s.clusterP.Load(); c != nil {
			if m := c.LogMetrics(); m != nil {
				fmt.Fprintf(w, "\n# raft log store\n%s", m)
			}
		}
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	a := &adminServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, l: l}
	go func() { _ = a.srv.Serve(l) }()
	return a, nil
}

func (a *adminServer) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return a.srv.Shutdown(ctx)
}

// setPartitioned cuts or restores the node's cluster transport (fault
// injection for tests).
func (s *Server) setPartitioned(w http.ResponseWriter, blocked bool) {
	c := s.clusterP.Load()
	if c == nil {
		http.Error(w, "not a cluster node", http.StatusConflict)
		return
	}
	c.SetBlocked(blocked)
	s.log.Warn("fault injection: cluster transport", "partitioned", blocked)
	fmt.Fprintf(w, "partitioned=%v\n", blocked)
}
