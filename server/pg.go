package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/cofferdb/coffer/sql/engine"
	"github.com/cofferdb/coffer/wire/pgwire"
)

// PostgresDatabase exists from genesis, as in PostgreSQL: it is what
// psql -d postgres and drivers' defaults reach.
const PostgresDatabase = "postgres"

// startPG makes sure the postgres database exists, gives a genesis admin
// a SCRAM verifier, and binds the Postgres listener when configured.
func (s *Server) startPG() error {
	if err := s.engine.EnsureDatabase(PostgresDatabase); err != nil {
		return err
	}
	if pw := s.engine.GenesisPassword; pw != "" {
		if err := pgwire.Enroll(context.Background(), s.engine, engine.AdminUser, pw); err != nil {
			return err
		}
	}
	if s.cfg.PGAddr == "" {
		return nil
	}
	pcfg := pgwire.DefaultConfig()
	pcfg.Addr, pcfg.MaxConnections, pcfg.Logger = s.cfg.PGAddr, int(s.cfg.MaxConnections), s.cfg.Logger
	if s.procs != nil {
		pcfg.Statements = s.procs
	}
	if s.cfg.PGTLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.PGTLSCertFile, s.cfg.PGTLSKeyFile)
		if err != nil {
			return fmt.Errorf("server: postgres TLS certificate %s / key %s: %w", s.cfg.PGTLSCertFile, s.cfg.PGTLSKeyFile, err)
		}
		pcfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	var err error
	s.pg, err = pgwire.New(pcfg, s.engine)
	return err
}

// PGAddr returns the Postgres listener's address, or nil.
func (s *Server) PGAddr() net.Addr {
	if s.pg == nil {
		return nil
	}
	return s.pg.Addr()
}
