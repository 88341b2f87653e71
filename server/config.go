package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/cofferdb/coffer/storage"
)

// Config is everything a node needs to start.
type Config struct {
	// DataDir holds the node's storage and its one-time secrets.
	DataDir string `json:"data_dir"`
	// MySQLAddr is the MySQL wire address (host:port); empty disables it.
	MySQLAddr string `json:"mysql_addr"`
	// PGAddr is the Postgres wire address (host:port); empty disables it.
	PGAddr string `json:"pg_addr"`
	// PGTLSCertFile and PGTLSKeyFile (PEM) turn on TLS for the Postgres
	// wire: SSLRequest is answered 'S'. Without them it is answered 'N'.
	PGTLSCertFile string `json:"pg_tls_cert"`
	PGTLSKeyFile  string `json:"pg_tls_key"`
	// AdminAddr serves /healthz, /readyz, /metrics and /debug/pprof over HTTP
	// (host:port); empty disables it.
	AdminAddr string `json:"admin_addr"`
	// AdminPassword sets the genesis admin's password on an empty data
	// dir; empty generates one and writes it to DataDir/admin-password.
	AdminPassword string `json:"-"`
	// NodeID names this node (in its certificate and in the cluster).
	NodeID string `json:"node_id"`
	// RaftAddr turns replication on: the node's raft address (listened on
	// and advertised to peers). Empty: a single node without raft.
	RaftAddr string `json:"raft_addr"`
	// Join is any member's raft address, for a node joining a cluster on
	// a fresh data dir (ignored once the node is a member).
	Join string `json:"join"`
	// ServiceCertFile is the cluster's service certificate a joiner
	// expects; empty trusts the joined node's (fingerprint logged).
	ServiceCertFile string `json:"service_cert"`
	// RaftSnapshotThreshold and RaftTrailingLogs tune log compaction
	// (0: raft's defaults, 8192 and 10240 entries).
	RaftSnapshotThreshold uint64 `json:"raft_snapshot_threshold"`
	RaftTrailingLogs      uint64 `json:"raft_trailing_logs"`
	// RaftHeartbeatTimeout is raft's heartbeat and election timeout
	// (0: 500ms).
	RaftHeartbeatTimeout time.Duration `json:"raft_heartbeat_timeout"`
	// UnsafeFaultInjection serves POST /fault/partition and /fault/heal
	// on the admin address, cutting this node's cluster transport. Tests
	// only.
	UnsafeFaultInjection bool `json:"unsafe_fault_injection"`
	// SignatureInterval is the longest a committed transaction waits for a
	// signed Merkle root (and so for its receipt).
	SignatureInterval time.Duration `json:"signature_interval"`
	// SignatureEvery signs as soon as that many entries wait.
	SignatureEvery uint64 `json:"signature_every"`
	// CacheSize is the storage block cache in bytes.
	CacheSize int64 `json:"cache_size"`
	// RowCacheSize bounds the row cache in bytes (0: off): while the
	// newest version of every row and index entry fits in it, they are
	// all kept in memory and reads skip pebble's current keyspace.
	RowCacheSize int64 `json:"row_cache_size"`
	// MinFreeBytes is the free disk space below which commits are refused
	// with error 1021 (0: 64 MiB; negative: never).
	MinFreeBytes int64 `json:"min_free_bytes"`
	// MaxConnections limits concurrent MySQL clients (0: unlimited).
	MaxConnections uint64 `json:"max_connections"`
	// TransactionIsolation is new sessions' transaction_isolation, as
	// MySQL's --transaction-isolation: REPEATABLE-READ (the default) and
	// SERIALIZABLE run snapshot isolation; READ-COMMITTED and
	// READ-UNCOMMITTED write a locked row from its newest version (see
	// docs/rfcs/2026-11-25-storage-and-transactions.md, "Row locks").
	TransactionIsolation string `json:"transaction_isolation"`
	// ShutdownTimeout bounds how long Close waits for clients to finish.
	ShutdownTimeout time.Duration `json:"shutdown_timeout"`
	// AdaptiveProcs lets a single node run on one P (GOMAXPROCS=1) while
	// it serves one statement at a time and pebble is idle, which cuts a
	// lone client's commit latency (server/procs.go). GOMAXPROCS is
	// process-wide: `coffer serve` turns this on, embedders that run
	// several servers in one process should not. An explicit GOMAXPROCS
	// in the environment, or replication, turns it off.
	AdaptiveProcs bool `json:"adaptive_procs"`
	// UnsafeNoSync skips fsync on commit. Tests only: a crash loses
	// acknowledged commits.
	UnsafeNoSync bool `json:"unsafe_no_sync"`
	// UnsafeNoLedger writes no ledger entries. Benchmarks of the ledger's
	// cost only: the data dir will not verify.
	UnsafeNoLedger bool `json:"unsafe_no_ledger"`

	Logger *slog.Logger `json:"-"`
}

// DefaultConfig returns a node on ./data listening on loopback.
func DefaultConfig() Config {
	return Config{
		DataDir:           "data",
		MySQLAddr:         "127.0.0.1:3306",
		PGAddr:            "127.0.0.1:5432",
		CacheSize:         256 << 20,
		RowCacheSize:      storage.DefaultRowCacheSize,
		NodeID:            "n1",
		SignatureInterval: 50 * time.Millisecond,
		SignatureEvery:    1000,
		ShutdownTimeout:   10 * time.Second,
	}
}

// Validate reports the first configuration error.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("server: data dir is required")
	}
	if c.MySQLAddr != "" {
		if _, _, err := net.SplitHostPort(c.MySQLAddr); err != nil {
			return fmt.Errorf("server: mysql address %q: %w", c.MySQLAddr, err)
		}
	}
	if c.PGAddr != "" {
		if _, _, err := net.SplitHostPort(c.PGAddr); err != nil {
			return fmt.Errorf("server: postgres address %q: %w", c.PGAddr, err)
		}
	}
	if (c.PGTLSCertFile == "") != (c.PGTLSKeyFile == "") {
		return errors.New("server: --pg-tls-cert and --pg-tls-key go together")
	}
	if c.AdminAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
			return fmt.Errorf("server: admin address %q: %w", c.AdminAddr, err)
		}
	}
	if c.NodeID == "" {
		return errors.New("server: node id is required")
	}
	switch strings.ToUpper(c.TransactionIsolation) {
	case "", "READ-UNCOMMITTED", "READ-COMMITTED", "REPEATABLE-READ", "SERIALIZABLE":
	default:
		return fmt.Errorf("server: transaction isolation %q: want READ-UNCOMMITTED, READ-COMMITTED, REPEATABLE-READ or SERIALIZABLE", c.TransactionIsolation)
	}
	if c.RaftAddr != "" {
		if _, _, err := net.SplitHostPort(c.RaftAddr); err != nil {
			return fmt.Errorf("server: raft address %q: %w", c.RaftAddr, err)
		}
	} else if c.Join != "" {
		return errors.New("server: --join needs --raft-addr (this node's own raft address)")
	}
	if c.CacheSize < 0 {
		return errors.New("server: cache size must not be negative")
	}
	if c.RowCacheSize < 0 {
		return errors.New("server: row cache size must not be negative")
	}
	return nil
}
