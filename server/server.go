package server

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/cofferdb/coffer/enclave"
	"github.com/cofferdb/coffer/server/cluster"
	"github.com/cofferdb/coffer/sql/engine"
	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
	"github.com/cofferdb/coffer/storage/ledger"
	wiremysql "github.com/cofferdb/coffer/wire/mysql"
	"github.com/cofferdb/coffer/wire/pgwire"
)

// AdminPasswordFile is where a generated genesis password is written, mode
// 0600, once.
const AdminPasswordFile = "admin-password"

// Server is one running node.
type Server struct {
	cfg    Config
	log    *slog.Logger
	db     *storage.DB
	engine *engine.Engine
	mysql  *wiremysql.Server
	pg     *pgwire.Server
	admin  *adminServer
	procs  *procsGovernor // nil: GOMAXPROCS left alone

	service *ledger.Identity
	node    *ledger.Identity
	enclave enclave.Enclave

	cluster  *cluster.Node                 // nil without replication
	engineP  atomic.Pointer[engine.Engine] // for replication callbacks
	serving  atomic.Bool                   // the wire listeners accept clients (/readyz)
	clusterP atomic.Pointer[cluster.Node]  // for the admin server, which starts first
}

// New opens storage and builds the node; Start begins serving.
func New(cfg Config) (*Server, error) { return NewContext(context.Background(), cfg) }

// NewContext is New with a context that bounds the waits of a replicated
// node (joining, catching up); cancel it to give up.
func NewContext(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: data dir: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	encl, err := openEnclave(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("server: enclave: %w", err)
	}
	s.enclave = encl
	cfg.Logger.Info("enclave", "kind", encl.Kind(), "measurement", hex.EncodeToString(encl.Measurement()))
	if encl.Kind() == "virtual" {
		cfg.Logger.Warn("running in the virtual enclave: development only, no hardware protection")
	}
	scfg := storage.DefaultConfig(filepath.Join(cfg.DataDir, "db"))
	scfg.CacheSize, scfg.NoSync, scfg.Logger = cfg.CacheSize, cfg.UnsafeNoSync, cfg.Logger
	scfg.MinFreeBytes = cfg.MinFreeBytes
	scfg.RowCacheSize = cfg.RowCacheSize
	if scfg.RowCacheSize == 0 {
		scfg.RowCacheSize = -1 // off
	}
	scfg.UnsafeNoLedger = cfg.UnsafeNoLedger
	if cfg.RaftAddr != "" {
		// The raft log, synced on append, is the durable record: the
		// store keeps no WAL of its own, and is flushed before the log
		// is truncated (server/cluster); after a crash, raft applies the
		// entries its memtable lost again.
		scfg.NoWAL = true
		scfg.MemTableSize = cluster.StaggeredSize(cfg.NodeID, storage.DefaultMemTableSize)
		scfg.CheckpointPhase = cluster.Stagger(cfg.NodeID)
	}
	if cfg.AdaptiveProcs && cfg.RaftAddr == "" {
		s.procs = newProcsGovernor(cfg.Logger)
	}
	if s.procs != nil {
		scfg.Background, scfg.InlineWALWrites = s.procs.Background, s.procs.Narrow
	}
	db, err := storage.Open(scfg)
	if err != nil {
		s.closeProcs()
		return nil, err
	}
	s.db = db
	if cfg.AdminAddr != "" {
		// First, so that /healthz and /readyz answer while the node
		// joins or catches up.
		if s.admin, err = startAdmin(cfg.AdminAddr, s); err != nil {
			s.closeBackend()
			return nil, err
		}
	}
	if err := s.open(ctx); err != nil {
		s.closeBackend()
		return nil, err
	}
	if err := s.startPG(); err != nil {
		s.closeBackend()
		return nil, err
	}
	if cfg.MySQLAddr != "" {
		mcfg := wiremysql.DefaultConfig()
		mcfg.Addr, mcfg.MaxConnections, mcfg.Logger = cfg.MySQLAddr, cfg.MaxConnections, cfg.Logger
		mcfg.ShutdownTimeout = cfg.ShutdownTimeout
		if s.procs != nil {
			mcfg.Statements, mcfg.LoneClient = s.procs, s.procs.Narrow
		}
		if s.mysql, err = wiremysql.New(mcfg, s.engine); err != nil {
			s.closeBackend()
			return nil, err
		}
	}
	return s, nil
}

// open sets up identities, replication, the signer and the engine.
func (s *Server) open(ctx context.Context) error {
	cfg, db := s.cfg, s.db
	var err error
	signer := storage.SignerConfig{Every: cfg.SignatureInterval, MaxUnsigned: cfg.SignatureEvery}
	ecfg := engine.Config{
		DB: db, Proposer: txn.LocalProposer{DB: db}, Logger: cfg.Logger, AdminPassword: cfg.AdminPassword,
		GenesisNodes: []string{cfg.NodeID}, Cluster: s.clusterRows,
		TransactionIsolation: strings.ToUpper(cfg.TransactionIsolation),
	}
	if cfg.RaftAddr == "" {
		if s.service, s.node, err = loadIdentities(cfg.DataDir, cfg.NodeID); err != nil {
			return err
		}
	} else {
		if s.service, s.node, err = clusterIdentities(cfg.DataDir, cfg.NodeID, cfg.Join != ""); err != nil {
			return err
		}
		if err := s.startCluster(ctx, s.node); err != nil {
			return err
		}
		signer = s.cluster.SignerConfig(signer)
		ecfg.Proposer, ecfg.Snapshotter = s.cluster, s.cluster
	}
	signer.Identity = s.node
	if err := db.StartSigner(signer); err != nil {
		return err
	}
	ecfg.ServiceCert = s.service.Cert
	if s.engine, err = engine.New(ecfg); err != nil {
		return err
	}
	if s.cluster != nil {
		// A follower takes AUTO_INCREMENT values from the leader.
		s.engine.Provider.SetAutoIncSource(s.cluster)
	}
	s.engineP.Store(s.engine)
	if s.cluster != nil {
		// Commits applied while the engine was built did not reach its
		// user store (onReplicatedApply had no engine yet).
		if err := s.engine.ReloadUsersFromStore(); err != nil {
			return err
		}
	}
	if pw := s.engine.GenesisPassword; pw != "" && cfg.AdminPassword == "" {
		if err := s.writeAdminPassword(pw); err != nil {
			return err
		}
	}
	return nil
}

// closeBackend closes replication and storage after a failed start.
func (s *Server) closeBackend() {
	if s.admin != nil {
		_ = s.admin.close()
	}
	if s.pg != nil {
		_ = s.pg.Close()
	}
	if s.cluster != nil {
		_ = s.cluster.Close()
	}
	_ = s.db.Close()
	s.closeProcs()
}

// closeProcs stops the GOMAXPROCS governor, if any, restoring the default.
func (s *Server) closeProcs() {
	if s.procs != nil {
		s.procs.Close()
	}
}

// Cluster returns the node's replication, or nil.
func (s *Server) Cluster() *cluster.Node { return s.cluster }

// DB returns the node's store.
func (s *Server) DB() *storage.DB { return s.db }

func (s *Server) writeAdminPassword(pw string) error {
	path := filepath.Join(s.cfg.DataDir, AdminPasswordFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("server: write genesis admin password: %w", err)
	}
	if _, err := fmt.Fprintln(f, pw); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	s.log.Warn("genesis: created user admin; its password was written once to "+path, "user", engine.AdminUser)
	return nil
}

// Start begins serving clients.
func (s *Server) Start() {
	if s.mysql != nil {
		s.mysql.Start()
	}
	if s.pg != nil {
		s.pg.Start()
	}
	s.serving.Store(true)
}

// MySQLAddr returns the MySQL listener's address, or nil.
func (s *Server) MySQLAddr() net.Addr {
	if s.mysql == nil {
		return nil
	}
	return s.mysql.Addr()
}

// AdminAddr returns the admin HTTP listener's address (nil when off).
func (s *Server) AdminAddr() net.Addr {
	if s.admin == nil {
		return nil
	}
	return s.admin.l.Addr()
}

// Engine returns the node's SQL engine.
func (s *Server) Engine() *engine.Engine { return s.engine }

// Close stops the listeners, then closes storage.
func (s *Server) Close() error {
	var errs []error
	if s.admin != nil {
		errs = append(errs, s.admin.close())
	}
	if s.mysql != nil {
		errs = append(errs, s.mysql.Close())
	}
	if s.pg != nil {
		errs = append(errs, s.pg.Close())
	}
	if s.cluster != nil {
		errs = append(errs, s.cluster.Close())
	}
	errs = append(errs, s.db.Close())
	s.closeProcs()
	return errors.Join(errs...)
}
