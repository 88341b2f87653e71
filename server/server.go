package server

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/cofferdb/coffer/enclave"
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

	service *ledger.Identity
	enclave enclave.Enclave
}

// New opens storage and builds the node; Start begins serving.
func New(cfg Config) (*Server, error) {
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
	scfg.UnsafeNoLedger = cfg.UnsafeNoLedger
	db, err := storage.Open(scfg)
	if err != nil {
		return nil, err
	}
	s.db = db
	service, node, err := loadIdentities(cfg.DataDir, cfg.NodeID)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.service = service
	if err := db.StartSigner(storage.SignerConfig{Identity: node, Every: cfg.SignatureInterval, MaxUnsigned: cfg.SignatureEvery}); err != nil {
		db.Close()
		return nil, err
	}
	s.engine, err = engine.New(engine.Config{
		DB: db, Proposer: txn.LocalProposer{DB: db}, Logger: cfg.Logger, AdminPassword: cfg.AdminPassword,
		ServiceCert: service.Cert,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	if pw := s.engine.GenesisPassword; pw != "" && cfg.AdminPassword == "" {
		if err := s.writeAdminPassword(pw); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := s.startPG(); err != nil {
		db.Close()
		return nil, err
	}
	if cfg.AdminAddr != "" {
		if s.admin, err = startAdmin(cfg.AdminAddr, s); err != nil {
			db.Close()
			return nil, err
		}
	}
	if cfg.MySQLAddr != "" {
		mcfg := wiremysql.DefaultConfig()
		mcfg.Addr, mcfg.MaxConnections, mcfg.Logger = cfg.MySQLAddr, cfg.MaxConnections, cfg.Logger
		mcfg.ShutdownTimeout = cfg.ShutdownTimeout
		if s.mysql, err = wiremysql.New(mcfg, s.engine); err != nil {
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

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
}

// MySQLAddr returns the MySQL listener's address, or nil.
func (s *Server) MySQLAddr() net.Addr {
	if s.mysql == nil {
		return nil
	}
	return s.mysql.Addr()
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
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}
