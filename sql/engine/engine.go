// Package engine assembles go-mysql-server over Coffer's catalog and
// transactions: the analyzer, the engine, session construction and Coffer's
// SQL functions. Both wire protocols and the enginetest harness build their
// engine here, so they run the same SQL. It must not know about any wire
// protocol or about replication.
package engine

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	gms "github.com/dolthub/go-mysql-server"
	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"

	"github.com/cofferdb/coffer/sql/catalog"
	"github.com/cofferdb/coffer/sql/governance"
	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

// DefaultDatabase exists from genesis so that clients have somewhere to
// create tables without a CREATE DATABASE first.
const DefaultDatabase = "coffer"

// Config configures an Engine.
type Config struct {
	DB       *storage.DB
	Proposer txn.Proposer
	Logger   *slog.Logger
	// AdminPassword is the genesis admin's password on an empty store;
	// empty means generate one (reported by GenesisPassword).
	AdminPassword string
	// ServiceCert, when set, is the identity node signatures must be
	// endorsed by in CALL coffer_verify_ledger().
	ServiceCert *x509.Certificate
	// NoAuth leaves authentication off (enginetest harnesses only).
	NoAuth bool
	// GenesisNodes are the nodes the charter admits from genesis (the
	// node that creates the network).
	GenesisNodes []string
	// Snapshotter, on a replicated node, picks each transaction's read
	// sequence (see txn.Snapshotter).
	Snapshotter txn.Snapshotter
	// Cluster lists the nodes for SHOW CLUSTER (rows of
	// governance.ClusterSchema).
	Cluster func(ctx context.Context) ([]gmssql.Row, error)
	// TransactionIsolation, if set, is new sessions' transaction_isolation
	// (server.Config.TransactionIsolation).
	TransactionIsolation string
}

// Validate reports a configuration error.
func (c *Config) Validate() error {
	if c.DB == nil {
		return errors.New("engine: DB is required")
	}
	if c.Proposer == nil {
		return errors.New("engine: Proposer is required")
	}
	return nil
}

// Engine is go-mysql-server over Coffer.
type Engine struct {
	*gms.Engine
	Provider *catalog.Provider
	cfg      Config
	// proposer is cfg.Proposer plus reloading the user store after
	// commits that change it.
	proposer txn.Proposer
	// GenesisPassword is the admin password set by this start on an empty
	// store, or "" when the store already had users.
	GenesisPassword string
	fast            fastForms
	commits         commitStats // commitstats.go
	// locks are the row locks of this node's transactions (txn/locks.go).
	locks *txn.LockTable
}

// gmsNewMu serializes gms.New, which (re)initializes go-mysql-server's
// process-wide status variables without a lock: in-process test clusters
// start several engines at once.
var gmsNewMu sync.Mutex

// New builds the engine and makes sure the default database exists.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	pro, err := catalog.NewProvider(cfg.DB)
	if err != nil {
		return nil, err
	}
	err = pro.EnsureDatabase(DefaultDatabase, func(ws *storage.WriteSet, readSeq uint64) error {
		_, err := cfg.Proposer.Propose(context.Background(), ws, readSeq, txn.Principal{Name: "coffer"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("engine: create default database: %w", err)
	}
	a := analyzer.NewBuilder(pro).AddPostAnalyzeRule(explainRuleID, keepExplainRows).Build()
	// Row policies: roles come from the user store; tables with policies
	// keep no statistics (see policies.go).
	pro.SetRoleSource(roleSource(a.Catalog.MySQLDb))
	a.Catalog.StatsProvider = policyStats{StatsProvider: a.Catalog.StatsProvider, p: pro}
	gmsNewMu.Lock()
	e := gms.New(a, &gms.Config{})
	gmsNewMu.Unlock()
	eng := &Engine{Engine: e, Provider: pro, cfg: cfg, locks: txn.NewLockTable()}
	pro.SetLockTable(eng.locks)
	eng.proposer = reloadingProposer{Proposer: cfg.Proposer, e: eng}
	registerVariables()
	eng.registerFunctions()
	eng.registerProcedures()
	if !cfg.NoAuth {
		// Governance statements and account statements become charter
		// proposals; every other statement parses exactly as before.
		e.Parser = governance.New(governance.Config{Catalog: a.Catalog, Logger: cfg.Logger, Cluster: cfg.Cluster}).Parser()
		pro.AddSystemDatabase(governance.Database())
		if eng.GenesisPassword, err = eng.loadUsers(cfg.AdminPassword); err != nil {
			return nil, err
		}
	}
	return eng, nil
}

// NewSession returns a session for principal.
func (e *Engine) NewSession(base *gmssql.BaseSession, p txn.Principal) *txn.Session {
	s := txn.NewSession(base, e.cfg.DB, e.proposer, p)
	s.OnConflict(e.commits.noteConflict)
	if e.cfg.Snapshotter != nil {
		s.SetSnapshotter(e.cfg.Snapshotter)
	}
	if e.cfg.TransactionIsolation != "" {
		ctx := gmssql.NewContext(context.Background(), gmssql.WithSession(s))
		if err := s.SetSessionVariable(ctx, "transaction_isolation", e.cfg.TransactionIsolation); err != nil {
			e.cfg.Logger.Warn("engine: cannot set the session's transaction isolation", "err", err)
		}
	}
	return s
}

// NewContext returns a query context over a new session (tests, tools).
func (e *Engine) NewContext(ctx context.Context, p txn.Principal) *gmssql.Context {
	base := gmssql.NewBaseSessionWithClientServer("", gmssql.Client{User: p.Name, Address: "localhost"}, 0)
	s := e.NewSession(base, p)
	c := gmssql.NewContext(ctx, gmssql.WithSession(s))
	c.SetCurrentDatabase(DefaultDatabase)
	return c
}
