package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cofferdb/coffer/server"
)

// serveFlags are the serve command's settings. Precedence, lowest first:
// defaults, the config file, COFFER_* environment variables, flags.
type serveFlags struct {
	cfg      server.Config
	logLevel string
	logJSON  bool
}

// serveGCPercent is the garbage collector's target heap growth while
// serving (GOGC=400): about 5% more durable inserts per second at 16
// connections, for a heap a few tens of MiB larger.
const serveGCPercent = 400

func serve(args []string) int {
	sf, err := loadServeConfig(args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "coffer serve:", err)
		return 2
	}
	log := newLogger(sf.logLevel, sf.logJSON)
	sf.cfg.Logger = log
	if os.Getenv("GOGC") == "" {
		// A server's live heap is small next to what it allocates per
		// second: at Go's default (collect when the heap has doubled) the
		// collector took 5-8% of the CPU under load. GOGC still wins.
		debug.SetGCPercent(serveGCPercent)
	}
	// Catch signals before anything listens: a supervisor that sees the port
	// open may stop us at once, and that must still be a clean shutdown.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	// A signal while the node starts (joining, catching up) gives up.
	ctx, cancel := context.WithCancel(context.Background())
	startDone := make(chan struct{})
	go func() {
		select {
		case s := <-sig:
			log.Info("interrupted while starting", "signal", s.String())
			cancel()
			sig <- s
		case <-startDone:
		}
	}()
	srv, err := server.NewContext(ctx, sf.cfg)
	close(startDone)
	if ctx.Err() != nil {
		if err == nil {
			srv.Close()
		}
		log.Info("stopped")
		return 0
	}
	cancel()
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	srv.Start()
	printConnectHelp(sf.cfg, srv.MySQLAddr())
	if a := srv.PGAddr(); a != nil {
		host, port, _ := net.SplitHostPort(a.String())
		fmt.Printf("Postgres clients: psql -h %s -p %s -U admin -d postgres\n", host, port)
	}

	s := <-sig
	log.Info("shutting down", "signal", s.String())
	if err := srv.Close(); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

func loadServeConfig(args []string) (*serveFlags, error) {
	sf := &serveFlags{cfg: server.DefaultConfig(), logLevel: "info"}
	sf.cfg.AdaptiveProcs = true // one server in this process (server/procs.go)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	configFile := fs.String("config", os.Getenv("COFFER_CONFIG"), "JSON config file (keys as the flags, with underscores)")
	dataDir := fs.String("data-dir", "", "data directory (default \"data\")")
	mysqlAddr := fs.String("mysql-addr", "", "MySQL wire address host:port (default 127.0.0.1:3306)")
	pgAddr := fs.String("pg-addr", "", "Postgres wire address host:port (default 127.0.0.1:5432; empty disables)")
	pgTLSCert := fs.String("pg-tls-cert", "", "PEM certificate (chain) for TLS on the Postgres wire (with --pg-tls-key)")
	pgTLSKey := fs.String("pg-tls-key", "", "PEM private key for --pg-tls-cert")
	adminAddr := fs.String("admin-addr", "", "HTTP address for /healthz, /readyz, /metrics and /debug/pprof (default off)")
	rowCache := fs.String("row-cache-size", "", "memory for the newest version of every row, as bytes or with a K, M or G suffix (default 256M; 0: off)")
	maxConns := fs.Uint64("max-connections", 0, "maximum concurrent clients (0: unlimited)")
	isolation := fs.String("transaction-isolation", "", "new sessions' isolation: REPEATABLE-READ (default; snapshot isolation), SERIALIZABLE, READ-COMMITTED or READ-UNCOMMITTED")
	nodeID := fs.String("node-id", "", "this node's id (default n1)")
	raftAddr := fs.String("raft-addr", "", "raft address host:port: turns replication on (default off: a single node)")
	join := fs.String("join", "", "raft address of any member, to join its cluster from a fresh data dir")
	serviceCert := fs.String("service-cert", "", "the cluster's service.pem a joiner expects (default: trust on first use)")
	snapThreshold := fs.Uint64("raft-snapshot-threshold", 0, "log entries between raft snapshots (0: 8192)")
	trailingLogs := fs.Uint64("raft-trailing-logs", 0, "log entries kept after a snapshot (0: 10240)")
	adaptiveProcs := fs.Bool("adaptive-procs", true, "a single node runs on one CPU while it serves one statement at a time (lower latency for a lone client); off if GOMAXPROCS is set")
	faults := fs.Bool("unsafe-fault-injection", false, "serve POST /fault/partition and /fault/heal on --admin-addr (tests only)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error")
	logJSON := fs.Bool("log-json", false, "log as JSON")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *configFile != "" {
		if err := readConfigFile(*configFile, sf); err != nil {
			return nil, err
		}
	}
	if err := applyEnv(sf); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["data-dir"] {
		sf.cfg.DataDir = *dataDir
	}
	if set["mysql-addr"] {
		sf.cfg.MySQLAddr = *mysqlAddr
	}
	if set["pg-addr"] {
		sf.cfg.PGAddr = *pgAddr
	}
	if set["pg-tls-cert"] {
		sf.cfg.PGTLSCertFile = *pgTLSCert
	}
	if set["pg-tls-key"] {
		sf.cfg.PGTLSKeyFile = *pgTLSKey
	}
	if set["admin-addr"] {
		sf.cfg.AdminAddr = *adminAddr
	}
	if set["node-id"] {
		sf.cfg.NodeID = *nodeID
	}
	if set["raft-addr"] {
		sf.cfg.RaftAddr = *raftAddr
	}
	if set["join"] {
		sf.cfg.Join = *join
	}
	if set["service-cert"] {
		sf.cfg.ServiceCertFile = *serviceCert
	}
	if set["raft-snapshot-threshold"] {
		sf.cfg.RaftSnapshotThreshold = *snapThreshold
	}
	if set["raft-trailing-logs"] {
		sf.cfg.RaftTrailingLogs = *trailingLogs
	}
	if set["adaptive-procs"] {
		sf.cfg.AdaptiveProcs = *adaptiveProcs
	}
	if set["unsafe-fault-injection"] {
		sf.cfg.UnsafeFaultInjection = *faults
	}
	if set["max-connections"] {
		sf.cfg.MaxConnections = *maxConns
	}
	if set["row-cache-size"] {
		n, err := parseSize(*rowCache)
		if err != nil {
			return nil, fmt.Errorf("--row-cache-size: %w", err)
		}
		sf.cfg.RowCacheSize = n
	}
	if set["transaction-isolation"] {
		sf.cfg.TransactionIsolation = strings.ToUpper(*isolation)
	}
	if set["log-level"] {
		sf.logLevel = *logLevel
	}
	if set["log-json"] {
		sf.logJSON = *logJSON
	}
	return sf, sf.cfg.Validate()
}

// fileConfig is the config file's shape.
type fileConfig struct {
	server.Config
	LogLevel string `json:"log_level"`
	LogJSON  bool   `json:"log_json"`
}

func readConfigFile(path string, sf *serveFlags) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	fc := fileConfig{Config: sf.cfg, LogLevel: sf.logLevel}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	sf.cfg, sf.logLevel, sf.logJSON = fc.Config, fc.LogLevel, fc.LogJSON
	return nil
}

func applyEnv(sf *serveFlags) error {
	if v, ok := os.LookupEnv("COFFER_DATA_DIR"); ok {
		sf.cfg.DataDir = v
	}
	if v, ok := os.LookupEnv("COFFER_MYSQL_ADDR"); ok {
		sf.cfg.MySQLAddr = v
	}
	if v, ok := os.LookupEnv("COFFER_PG_ADDR"); ok {
		sf.cfg.PGAddr = v
	}
	if v, ok := os.LookupEnv("COFFER_PG_TLS_CERT"); ok {
		sf.cfg.PGTLSCertFile = v
	}
	if v, ok := os.LookupEnv("COFFER_PG_TLS_KEY"); ok {
		sf.cfg.PGTLSKeyFile = v
	}
	if v, ok := os.LookupEnv("COFFER_ADMIN_ADDR"); ok {
		sf.cfg.AdminAddr = v
	}
	if v, ok := os.LookupEnv("COFFER_NODE_ID"); ok {
		sf.cfg.NodeID = v
	}
	if v, ok := os.LookupEnv("COFFER_RAFT_ADDR"); ok {
		sf.cfg.RaftAddr = v
	}
	if v, ok := os.LookupEnv("COFFER_JOIN"); ok {
		sf.cfg.Join = v
	}
	if v, ok := os.LookupEnv("COFFER_SERVICE_CERT"); ok {
		sf.cfg.ServiceCertFile = v
	}
	if v, ok := os.LookupEnv("COFFER_ADMIN_PASSWORD"); ok {
		sf.cfg.AdminPassword = v
	}
	if v, ok := os.LookupEnv("COFFER_LOG_LEVEL"); ok {
		sf.logLevel = v
	}
	if v, ok := os.LookupEnv("COFFER_MAX_CONNECTIONS"); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("COFFER_MAX_CONNECTIONS: %w", err)
		}
		sf.cfg.MaxConnections = n
	}
	if v, ok := os.LookupEnv("COFFER_ROW_CACHE_SIZE"); ok {
		n, err := parseSize(v)
		if err != nil {
			return fmt.Errorf("COFFER_ROW_CACHE_SIZE: %w", err)
		}
		sf.cfg.RowCacheSize = n
	}
	if v, ok := os.LookupEnv("COFFER_TRANSACTION_ISOLATION"); ok {
		sf.cfg.TransactionIsolation = strings.ToUpper(v)
	}
	if v, ok := os.LookupEnv("COFFER_SHUTDOWN_TIMEOUT"); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("COFFER_SHUTDOWN_TIMEOUT: %w", err)
		}
		sf.cfg.ShutdownTimeout = d
	}
	if v, ok := os.LookupEnv("COFFER_UNSAFE_NO_SYNC"); ok {
		sf.cfg.UnsafeNoSync = v == "1" || strings.EqualFold(v, "true")
	}
	if v, ok := os.LookupEnv("COFFER_UNSAFE_NO_LEDGER"); ok {
		sf.cfg.UnsafeNoLedger = v == "1" || strings.EqualFold(v, "true")
	}
	return nil
}

func newLogger(level string, asJSON bool) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if asJSON {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func printConnectHelp(cfg server.Config, addr net.Addr) {
	if addr == nil {
		return
	}
	host, port, _ := net.SplitHostPort(addr.String())
	pw := "the password in " + cfg.DataDir + "/" + server.AdminPasswordFile
	if _, err := os.Stat(filepath.Join(cfg.DataDir, server.AdminPasswordFile)); err != nil {
		pw = "the password the cluster's genesis node set" // a node that joined
	}
	if cfg.AdminPassword != "" {
		pw = "$COFFER_ADMIN_PASSWORD"
	}
	fmt.Printf(`
Coffer is running (data dir %s).
Connect with any MySQL client as admin, using %s:
  mysql -h%s -P%s -uadmin -p coffer
Stop with Ctrl-C.
`, cfg.DataDir, pw, host, port)
}

// parseSize reads a byte count: digits, optionally followed by K, M or G
// (powers of 1024; KiB, MiB, GiB and KB, MB, GB read the same).
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	shift := 0
	for _, u := range []struct {
		suffix string
		shift  int
	}{{"K", 10}, {"M", 20}, {"G", 30}} {
		for _, form := range []string{u.suffix + "IB", u.suffix + "B", u.suffix} {
			if strings.HasSuffix(t, form) {
				t, shift = strings.TrimSuffix(t, form), u.shift
				break
			}
		}
		if shift != 0 {
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("size %q: want a non-negative number of bytes, optionally with a K, M or G suffix", s)
	}
	return n << shift, nil
}
