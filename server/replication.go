package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	gmssql "github.com/dolthub/go-mysql-server/sql"

	"github.com/cofferdb/coffer/charter"
	"github.com/cofferdb/coffer/server/cluster"
	"github.com/cofferdb/coffer/sql/governance"
	"github.com/cofferdb/coffer/storage"
	"github.com/cofferdb/coffer/storage/ledger"
)

// clusterIdentities returns the identities of a replicated node: those in
// the data dir; at genesis (no --join) a new service identity and an
// endorsed node identity; on a joiner a pending node identity and no
// service identity, until admission (saveAdmitted).
func clusterIdentities(dataDir, nodeID string, joining bool) (service, node *ledger.Identity, err error) {
	p := func(name string) string { return filepath.Join(dataDir, name) }
	node, err = ledger.LoadIdentity(p(nodeCertFile), p(nodeKeyFile))
	if errors.Is(err, fs.ErrNotExist) && joining {
		if node, err = ledger.NewPendingNodeIdentity(nodeID); err != nil {
			return nil, nil, err
		}
		if err := node.Save(p(nodeCertFile), p(nodeKeyFile)); err != nil {
			return nil, nil, fmt.Errorf("server: save node identity: %w", err)
		}
		return nil, node, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("server: node identity: %w", err)
	}
	if _, serr := os.Stat(p(serviceKeyFile)); errors.Is(serr, fs.ErrNotExist) && node != nil {
		return nil, node, nil // a joiner restarted before it was admitted
	}
	return loadIdentities(dataDir, nodeID)
}

// startCluster brings the node into its cluster: it starts raft (joining
// and waiting for admission if needed) and waits until the store holds
// the network's genesis, or, on the node that creates the network, until
// it leads.
func (s *Server) startCluster(ctx context.Context, node *ledger.Identity) error {
	cfg := s.cfg
	var expect *ledger.Identity
	if s.service != nil {
		expect = s.service
	}
	cc := cluster.Config{
		NodeID: cfg.NodeID, Dir: filepath.Join(cfg.DataDir, "raft"), Addr: cfg.RaftAddr, Join: cfg.Join,
		Node: node, Service: expect, DB: s.db, Logger: cfg.Logger,
		Admitted: s.admittedNodes, OnApply: s.onReplicatedApply, Applying: s.applyingReplicated, OnRestore: s.onRestore, OnAdmitted: s.saveAdmitted,
		ReserveAutoInc:   s.reserveAutoInc,
		HeartbeatTimeout: cfg.RaftHeartbeatTimeout, SnapshotThreshold: cfg.RaftSnapshotThreshold, TrailingLogs: cfg.RaftTrailingLogs,
	}
	if cfg.ServiceCertFile != "" {
		c, err := ledger.LoadCert(cfg.ServiceCertFile)
		if err != nil {
			return fmt.Errorf("server: --service-cert: %w", err)
		}
		cc.ServiceCert = c
	}
	empty := s.db.ReadSeq() == 0
	cl, err := cluster.Open(cc)
	if err != nil {
		return err
	}
	// The network's first node creates its genesis once, when it
	// bootstraps raft; a restarted member whose store lost its unsynced
	// tail (even all of it) waits for its log to replay it instead.
	genesis := s.service != nil && cfg.Join == "" && empty && cl.Bootstrapped()
	s.cluster = cl
	s.clusterP.Store(cl)
	joined := false
	if !cl.Member() {
		s.log.Info("joining the cluster", "join", cfg.Join, "node", cfg.NodeID)
		if err := cl.Join(ctx); err != nil {
			return err
		}
		joined = true
	}
	if genesis {
		return cl.WaitLeader(ctx)
	}
	if !joined && s.db.ReadSeq() > 0 {
		// A restarted member starts from its own state, even while the
		// cluster has no quorum (a full restart brings nodes up one by
		// one); its clients' reads wait for a leader.
		return nil
	}
	// A new member catches up to the leader's state first: the engine
	// starts from the store (users, charter) and must not find a part of
	// the cluster's genesis.
	s.log.Info("waiting for the cluster's state", "seq", s.db.ReadSeq())
	if _, err := cl.SnapshotSeq(ctx, false); err != nil {
		return fmt.Errorf("server: waiting for the cluster's state: %w", err)
	}
	return nil
}

// saveAdmitted persists the endorsed node identity and the service
// identity a joiner received.
func (s *Server) saveAdmitted(node, service *ledger.Identity) error {
	p := func(name string) string { return filepath.Join(s.cfg.DataDir, name) }
	if err := service.Save(p(ServiceCertFile), p(serviceKeyFile)); err != nil {
		return err
	}
	if err := node.Save(p(nodeCertFile), p(nodeKeyFile)); err != nil {
		return err
	}
	s.service = service
	s.node = node
	return nil
}

// admittedNodes reads the charter's nodes at the newest sequence.
func (s *Server) admittedNodes() (map[string]bool, error) {
	c, err := charter.Load(charter.SnapshotStore{DB: s.db, Seq: s.db.ReadSeq()})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(c.Nodes))
	for _, n := range c.Nodes {
		out[n.Name] = true
	}
	return out, nil
}

// applyingReplicated moves the engine's AUTO_INCREMENT counters past the
// values replicated commits (from any node) write, before they are visible.
func (s *Server) applyingReplicated(wss []*storage.WriteSet, apply func() error) error {
	if e := s.engineP.Load(); e != nil {
		return e.Provider.ApplyCommitted(wss, apply)
	}
	return apply() // no counters exist before the engine does
}

// reserveAutoInc reserves AUTO_INCREMENT values for a follower (the
// leader's side of catalog.AutoIncSource).
func (s *Server) reserveAutoInc(table, n uint64) (uint64, error) {
	e := s.engineP.Load()
	if e == nil {
		return 0, errors.New("server: the SQL engine is not running yet")
	}
	return e.Provider.ReserveAutoInc(table, n)
}

// onReplicatedApply keeps the user store in step with replicated commits
// (the committing node's engine does it itself; other nodes here).
func (s *Server) onReplicatedApply(ws *storage.WriteSet) {
	e := s.engineP.Load()
	if e == nil {
		return
	}
	for _, m := range ws.Mutations {
		if !m.Delete && governance.IsGrantsKey(m.Key) {
			if err := e.ReloadUsers(m.Value); err != nil {
				s.log.Error("reload users after a replicated commit", "err", err)
			}
		}
	}
}

func (s *Server) onRestore() {
	if e := s.engineP.Load(); e != nil {
		if err := e.ReloadUsersFromStore(); err != nil {
			s.log.Error("reload users after a snapshot restore", "err", err)
		}
	}
}

// clusterRows is SHOW CLUSTER.
func (s *Server) clusterRows(ctx context.Context) ([]gmssql.Row, error) {
	var nodes []cluster.NodeStatus
	if s.cluster == nil {
		st := cluster.NodeStatus{ID: s.cfg.NodeID, Role: "leader", Seq: s.db.ReadSeq()}
		if e, err := s.db.Entry(st.Seq); err == nil {
			h := e.LeafHash()
			st.ChainHead = fmt.Sprintf("%x", h[:])
		}
		nodes = []cluster.NodeStatus{st}
	} else {
		var err error
		if nodes, err = s.cluster.Status(ctx); err != nil {
			return nil, err
		}
	}
	rows := make([]gmssql.Row, len(nodes))
	for i, n := range nodes {
		rows[i] = gmssql.Row{n.ID, n.Address, n.Role, n.Applied, n.Seq, n.ChainHead}
	}
	return rows, nil
}
