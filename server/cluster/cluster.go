package cluster

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"

	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
	"github.com/cofferdb/coffer/storage/ledger"
)

// Config configures a node's membership in a cluster.
type Config struct {
	// NodeID is the node's raft server id and the name ADD NODE admits.
	NodeID string
	// Dir holds the raft log, stable store and snapshots.
	Dir string
	// Addr is the raft address: listened on and advertised to peers, so it
	// must be reachable by them (not 0.0.0.0). Port 0 picks a free port.
	Addr string
	// Join is any existing node's raft address, for a node that is not yet
	// a member; empty bootstraps a one-voter cluster on a fresh node.
	Join string
	// ServiceCert is the cluster's service certificate a joiner expects;
	// nil trusts the one the joined node presents (its fingerprint logged).
	ServiceCert *x509.Certificate
	// Node is this node's identity: endorsed by Service on members, a
	// pending self-signed one on a node that has not joined yet.
	Node *ledger.Identity
	// Service is the service identity (nil on a joiner until admitted).
	Service *ledger.Identity
	// DB is the node's store; the replicated state machine applies to it.
	DB *storage.DB
	// Admitted returns the node ids the charter admits, read at the
	// store's newest sequence.
	Admitted func() (map[string]bool, error)
	// OnApply is called after a replicated commit is applied (all nodes).
	OnApply func(*storage.WriteSet)
	// Applying, if set, wraps the application of replicated commits, a
	// batch of them at a time with their write sets: it must call apply
	// and return its error (the engine moves its AUTO_INCREMENT counters
	// before the commits become visible).
	Applying func(wss []*storage.WriteSet, apply func() error) error
	// OnRestore is called after the store was replaced by a snapshot.
	OnRestore func()
	// OnAdmitted is called on a joiner once the service endorsed it, with
	// the identities to persist.
	OnAdmitted func(node, service *ledger.Identity) error
	// ReserveAutoInc reserves n AUTO_INCREMENT values of a table on the
	// leader, for a follower's ReserveAutoInc (nil: followers use their
	// own counters).
	ReserveAutoInc func(table, n uint64) (first uint64, err error)

	// Raft tuning (zero: defaults).
	HeartbeatTimeout  time.Duration
	SnapshotThreshold uint64
	TrailingLogs      uint64
	// MaxStaleness bounds follower reads (coffer_read_mode = 'follower').
	MaxStaleness time.Duration

	Logger *slog.Logger
}

// Node is this node's part in the cluster: raft over the store, the
// proposer sessions commit through, and the peer RPCs.
type Node struct {
	cfg   Config
	log   *slog.Logger
	db    *storage.DB
	creds atomic.Pointer[Credentials]
	mux   *Mux
	addr  string // advertised raft address

	rp    atomic.Pointer[raft.Raft] // nil until the node is a member
	logs  *LogStore
	trans *raft.NetworkTransport
	fsm   *fsm
	// bootstrapped: this start created the cluster (see Bootstrapped).
	bootstrapped bool
	// readyTerm is the latest term in which this node, as leader, saw a
	// barrier applied; see leaderReadSeq.
	readyTerm atomic.Uint64

	peersMu sync.Mutex
	peers   map[string]*peerClient // RPC clients by raft address

	pendingMu sync.Mutex
	pending   map[string]pendingNode // leader: joiners not admitted yet

	batch batcher   // group commit on the leader (batch.go)
	fwd   forwarder // a follower's forwarded commits, grouped (forward.go)

	stop chan struct{}
	wg   sync.WaitGroup
}

type pendingNode struct {
	Addr  string
	Since time.Time
}

var _ txn.Proposer = (*Node)(nil)

// ErrNoLeader is returned when no leader is known within the wait.
var ErrNoLeader = errors.New("cluster: no leader (the cluster has no quorum or is electing)")

// Open starts the node's transport and, on a member, raft. A node that
// must join gets raft once Join has been admitted.
func Open(cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NodeID == "" || cfg.Addr == "" || cfg.DB == nil || cfg.Node == nil {
		return nil, errors.New("cluster: NodeID, Addr, DB and Node are required")
	}
	if cfg.MaxStaleness <= 0 {
		cfg.MaxStaleness = 5 * time.Second
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	n := &Node{
		cfg: cfg, log: cfg.Logger.With("component", "cluster", "node", cfg.NodeID), db: cfg.DB,
		peers: map[string]*peerClient{}, pending: map[string]pendingNode{}, stop: make(chan struct{}),
	}
	n.batch.n = n
	n.fwd.n = n
	var serviceCert *x509.Certificate
	if cfg.Service != nil {
		serviceCert = cfg.Service.Cert
	}
	n.creds.Store(NewCredentials(cfg.Node, serviceCert))
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: listen on %s: %w", cfg.Addr, err)
	}
	n.addr = ln.Addr().String()
	n.mux = NewMux(ln, n.creds.Load().ServerTLS(), cfg.Logger)
	n.wg.Add(1)
	go func() { defer n.wg.Done(); _ = n.mux.Serve() }()
	n.serveRPC()
	if cfg.Service != nil {
		if err := n.startRaft(); err != nil {
			n.Close()
			return nil, err
		}
	} else if cfg.Join == "" {
		n.Close()
		return nil, errors.New("cluster: a node without the service identity must join an existing node")
	}
	return n, nil
}

func (n *Node) r() *raft.Raft { return n.rp.Load() }

// Addr returns the advertised raft address.
func (n *Node) Addr() string { return n.addr }

// Bootstrapped reports whether this start created the cluster: raft had
// no state of its own and no node to join. A member restarted after a
// crash is not new even if its store came back empty: the store applies
// without fsync, and the log replays what it lost.
func (n *Node) Bootstrapped() bool { return n.bootstrapped }

// Member reports whether raft runs (the node was admitted or bootstrapped).
func (n *Node) Member() bool { return n.r() != nil }

// maxAppendEntries is raft's batch: the most entries one AppendEntries
// carries and one FSM batch applies. logCacheSize (raft.LogCache) holds
// a few batches, so replication and a follower's apply read from memory.
const (
	maxAppendEntries = 512
	logCacheSize     = 4 * maxAppendEntries
)

// StaggeredSize is base plus 0 to 15 sixteenths of it, chosen by a hash of
// nodeID: a cluster node's memtable sizes (its data store's and its raft
// log's). Every node writes the same entries, so with equal memtables all
// flushed within the same second (a 62 MB flush took 0.7-0.9 s on each
// node of a 2-core loopback cluster, and throughput fell to a third for
// that second), and both followers answered the leader late at once. A
// commit needs one follower's answer: with the flushes apart, a flushing
// follower delays none.
func StaggeredSize(nodeID string, base uint64) uint64 {
	return base + uint64(Stagger(nodeID))*(base/16)
}

// Stagger is a number from 0 to 15 chosen by a hash of nodeID, which
// keeps nodes' periodic storage work apart: their memtable sizes
// (StaggeredSize) and the phase of their current-keyspace checkpoints
// (storage.Config.CheckpointPhase), each of which flushes the memtable
// and, at the same entry on every node, stalled the whole cluster.
func Stagger(nodeID string) int {
	h := fnv.New32a()
	h.Write([]byte(nodeID))
	return int(h.Sum32() % 16)
}

func (n *Node) startRaft() error {
	logs, err := openLogStore(filepath.Join(n.cfg.Dir, "log"), false, StaggeredSize(n.cfg.NodeID, logMemTableSize))
	if err != nil {
		return err
	}
	n.logs = logs
	hl := HCLogger(n.cfg.Logger, "raft")
	snaps, err := openSnapStore(filepath.Join(n.cfg.Dir, "snapshots"), snapRetain, n.log)
	if err != nil {
		return err
	}
	n.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: NewStreamLayer(n.mux, n.creds.Load().ClientTLS()), MaxPool: 4, Timeout: 10 * time.Second, Logger: hl,
	})
	n.fsm = &fsm{db: n.db, log: n.log, tmp: filepath.Join(n.cfg.Dir, "staging"), onApply: n.cfg.OnApply, applying: n.cfg.Applying, onRestore: n.cfg.OnRestore}
	// Commit entries up to the store's last were applied before this
	// process: settling one of them would not know its results.
	n.fsm.applied.reset(n.db.RaftIndex())
	_ = os.RemoveAll(n.fsm.tmp)

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.NodeID)
	rc.Logger = hl
	rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout = 500*time.Millisecond, 500*time.Millisecond, 250*time.Millisecond
	if n.cfg.HeartbeatTimeout > 0 {
		rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout = n.cfg.HeartbeatTimeout, n.cfg.HeartbeatTimeout, n.cfg.HeartbeatTimeout/2
	}
	rc.CommitTimeout = 5 * time.Millisecond
	rc.MaxAppendEntries = maxAppendEntries
	rc.BatchApplyCh = true
	if n.cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = n.cfg.SnapshotThreshold
		rc.SnapshotInterval = time.Second
	}
	if n.cfg.TrailingLogs > 0 {
		rc.TrailingLogs = n.cfg.TrailingLogs
	}
	// The store keeps its own state across restarts; raft restores a
	// snapshot on start only if the store is older than it (an
	// interrupted restore wiped it).
	rc.NoSnapshotRestoreOnStart = true
	if list, err := snaps.List(); err == nil && len(list) > 0 && list[0].Index > n.db.RaftIndex() {
		rc.NoSnapshotRestoreOnStart = false
	}
	has, err := raft.HasExistingState(logs, logs, snaps)
	if err != nil {
		return err
	}
	// The newest entries stay in memory: the leader's replication and a
	// follower's FSM read them back from the log store once per entry,
	// which otherwise is a pebble read and a copy each.
	cached, err := raft.NewLogCache(logCacheSize, logs)
	if err != nil {
		return err
	}
	r, err := raft.NewRaft(rc, n.fsm, cached, logs, snaps, n.trans)
	if err != nil {
		return fmt.Errorf("cluster: start raft: %w", err)
	}
	if !has && n.cfg.Join == "" {
		n.log.Info("cluster: bootstrapping a one-voter cluster", "addr", n.addr)
		f := r.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: raft.ServerAddress(n.addr)}}})
		if err := f.Error(); err != nil {
			_ = r.Shutdown().Error()
			return fmt.Errorf("cluster: bootstrap: %w", err)
		}
		n.bootstrapped = true
		if n.db.ReadSeq() > 0 {
			// Before the node is published (n.rp): no joiner may be admitted,
			// nor a signature logged, until the log starts at the snapshot.
			if err := adoptExistingStore(r, n.db, n.log); err != nil {
				_ = r.Shutdown().Error()
				return err
			}
		}
	}
	n.rp.Store(r)
	n.wg.Add(1)
	go n.reconcileLoop()
	return nil
}

// adoptExistingStore makes a store written before replication was turned
// on reach joiners: it snapshots and truncates the log, so peers start
// from the snapshot (which has everything) instead of replaying a log
// that lacks the store's history.
func adoptExistingStore(r *raft.Raft, db *storage.DB, log *slog.Logger) error {
	select {
	case <-r.LeaderCh():
	case <-time.After(30 * time.Second):
		return errors.New("cluster: adopting the existing store: no leadership after bootstrap")
	}
	// Applied up to the leader's first entry: something to snapshot.
	if err := r.Barrier(30 * time.Second).Error(); err != nil {
		return fmt.Errorf("cluster: adopting the existing store: %w", err)
	}
	rc := r.ReloadableConfig()
	tmp := rc
	tmp.TrailingLogs = 0
	if err := r.ReloadConfig(tmp); err != nil {
		return fmt.Errorf("cluster: adopting the existing store: %w", err)
	}
	defer func() { _ = r.ReloadConfig(rc) }()
	if err := r.Snapshot().Error(); err != nil {
		return fmt.Errorf("cluster: snapshot of the existing store: %w", err)
	}
	log.Info("cluster: the existing store is now the cluster's first snapshot", "seq", db.ReadSeq())
	return nil
}

// Close leaves raft running nowhere: it shuts raft down, then the
// transport. The store is the caller's.
func (n *Node) Close() error {
	select {
	case <-n.stop:
		return nil
	default:
		close(n.stop)
	}
	var errs []error
	if n.r() != nil {
		errs = append(errs, n.r().Shutdown().Error())
	}
	n.peersMu.Lock()
	for _, p := range n.peers {
		p.close()
	}
	n.peers = map[string]*peerClient{}
	n.peersMu.Unlock()
	errs = append(errs, n.mux.Close())
	if n.trans != nil {
		errs = append(errs, n.trans.Close())
	}
	n.wg.Wait()
	if n.logs != nil {
		errs = append(errs, n.logs.Close())
	}
	return errors.Join(errs...)
}

// SetBlocked cuts (or restores) this node's raft and RPC connections:
// the test harness's partition.
func (n *Node) SetBlocked(b bool) { n.mux.SetBlocked(b) }

// IsLeader reports whether this node is the raft leader.
func (n *Node) IsLeader() bool { return n.r() != nil && n.r().State() == raft.Leader }

// LogMetrics returns pebble's metrics of the raft log store (nil before
// raft has started: a joining node opens the store when it is admitted,
// and n.logs is set before raft is published).
func (n *Node) LogMetrics() *pebble.Metrics {
	if n.r() == nil {
		return nil
	}
	return n.logs.Metrics()
}

// Leader returns the leader's raft address and id, or "" if unknown.
func (n *Node) Leader() (addr, id string) {
	if n.r() == nil {
		return "", ""
	}
	a, i := n.r().LeaderWithID()
	return string(a), string(i)
}

// WaitLeader waits until some leader is known.
func (n *Node) WaitLeader(ctx context.Context) error {
	for {
		if a, _ := n.Leader(); a != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ErrNoLeader, ctx.Err())
		case <-n.stop:
			return errors.New("cluster: closed")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Propose implements txn.Proposer: the write set goes through the raft
// leader (forwarded over the cluster transport from a follower) and this
// call returns once the commit is applied on this node too, so the
// session reads its own write.
func (n *Node) Propose(ctx context.Context, ws *storage.WriteSet, readSeq uint64, p txn.Principal) (uint64, error) {
	cmd := encodeCommit(&commitCmd{ReadSeq: readSeq, Time: time.Now().UnixNano(), Principal: p.Name, Kind: txn.CommitKind(ctx), WS: *ws})
	seq, err := n.submit(ctx, cmd)
	if err != nil {
		return 0, err
	}
	if err := n.db.WaitVisible(ctx, seq); err != nil {
		return 0, fmt.Errorf("cluster: commit %d is replicated but not yet applied here: %w", seq, err)
	}
	return seq, nil
}

// submit runs cmd through the leader and returns its sequence.
func (n *Node) submit(ctx context.Context, cmd []byte) (uint64, error) {
	if n.r() == nil {
		return 0, errors.New("cluster: this node has not joined the cluster yet")
	}
	for attempt := 0; ; attempt++ {
		if n.IsLeader() {
			seq, err := n.applyLocal(ctx, cmd)
			if !errors.Is(err, raft.ErrNotLeader) {
				return seq, err
			}
		} else if addr, _ := n.Leader(); addr != "" {
			seq, err := n.fwd.propose(ctx, addr, cmd)
			if !errors.Is(err, errNotLeader) && !errors.Is(err, errPeerUnreachable) {
				return seq, err
			}
		}
		// No leader, or it moved: the command was not appended; retry.
		if err := n.retryPause(ctx, attempt); err != nil {
			return 0, err
		}
	}
}

// retryPause waits before attempt+1 of a call that found no leader (or a
// leader that just lost its role): 10 ms, growing to 200 ms, for about a
// minute in all; ctx and the node's shutdown end it early.
func (n *Node) retryPause(ctx context.Context, attempt int) error {
	if attempt > 300 {
		return ErrNoLeader
	}
	select {
	case <-ctx.Done():
		return fmt.Errorf("%w: %v", ErrNoLeader, ctx.Err())
	case <-n.stop:
		return errors.New("cluster: shutting down")
	case <-time.After(time.Duration(min(attempt+1, 20)) * 10 * time.Millisecond):
		return nil
	}
}

// applyLocal appends cmd on the leader and waits for its result. Commit
// commands go through the batcher (batch.go).
func (n *Node) applyLocal(ctx context.Context, cmd []byte) (uint64, error) {
	if isCommit(cmd) {
		return n.batch.apply(cmd).result()
	}
	timeout := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	f := n.r().Apply(cmd, timeout)
	if err := f.Error(); err != nil {
		return 0, appendErr(err)
	}
	r, _ := f.Response().(applyResult)
	return r.seq, r.err
}

// proposeSignature replicates a signed root (the leader's signer).
func (n *Node) proposeSignature(s *ledger.SignedRoot) error {
	if !n.IsLeader() {
		return nil
	}
	_, err := n.applyLocal(context.Background(), encodeSignature(s))
	if errors.Is(err, raft.ErrNotLeader) || err != nil && !n.IsLeader() {
		// The next leader signs what this one could not.
		return nil
	}
	return err
}

// SignerConfig returns the signing hooks of a replicated node: only the
// leader signs, and its signatures go through the log.
func (n *Node) SignerConfig(c storage.SignerConfig) storage.SignerConfig {
	c.Active = n.IsLeader
	c.Publish = n.proposeSignature
	return c
}

// SnapshotSeq implements txn.Snapshotter: the sequence a new transaction
// reads. The leader reads its own state (it holds a lease: raft steps a
// leader down when it has not heard from a quorum for LeaderLeaseTimeout).
// A follower asks the leader for its applied sequence and waits until it
// has applied as much (read index); with follower reads it reads its own
// state if it heard from the leader within MaxStaleness.
func (n *Node) SnapshotSeq(ctx context.Context, follower bool) (uint64, error) {
	if n.r() == nil {
		return n.db.ReadSeq(), nil
	}
	if n.IsLeader() {
		seq, err := n.leaderReadSeq(ctx)
		if !errors.Is(err, errNotLeader) {
			return seq, err
		}
	}
	if follower {
		if last := n.r().LastContact(); time.Since(last) > n.cfg.MaxStaleness {
			return 0, fmt.Errorf("cluster: follower read refused: no contact with a leader for %v (max staleness %v)", time.Since(last).Round(time.Millisecond), n.cfg.MaxStaleness)
		}
		return n.db.ReadSeq(), nil
	}
	for attempt := 0; ; attempt++ {
		addr, id := n.Leader()
		if id == n.cfg.NodeID || (addr == "" && n.IsLeader()) {
			seq, err := n.leaderReadSeq(ctx)
			if !errors.Is(err, errNotLeader) {
				return seq, err
			}
		} else if addr != "" {
			seq, err := n.forwardReadIndex(ctx, addr)
			if err == nil {
				if err := n.db.WaitVisible(ctx, seq); err != nil {
					return 0, err
				}
				return n.db.ReadSeq(), nil
			}
			if !errors.Is(err, errNotLeader) && !errors.Is(err, errPeerUnreachable) {
				return 0, err
			}
		}
		if err := n.retryPause(ctx, attempt); err != nil {
			return 0, err
		}
	}
}

// readIndex is the leader's side of SnapshotSeq.
func (n *Node) readIndex(ctx context.Context) (uint64, error) {
	if !n.IsLeader() {
		return 0, errNotLeader
	}
	if err := n.r().VerifyLeader().Error(); err != nil {
		return 0, errNotLeader
	}
	return n.leaderReadSeq(ctx)
}

// leaderReadSeq is the sequence a read on the leader may use. A new
// leader holds every entry committed before its term but may not have
// applied them yet (it learns they are committed only when an entry of
// its own term commits), so its store can lack writes its predecessor
// acknowledged. Once per term it waits for a barrier, which commits an
// entry of its term and returns when everything before it is applied
// (Raft §8: a leader serves reads only after committing in its term).
func (n *Node) leaderReadSeq(ctx context.Context) (uint64, error) {
	r := n.r()
	term := r.CurrentTerm()
	if n.readyTerm.Load() != term {
		timeout := 10 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			timeout = time.Until(dl)
		}
		if err := r.Barrier(timeout).Error(); err != nil {
			if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
				return 0, errNotLeader
			}
			return 0, fmt.Errorf("cluster: leader read barrier: %w", err)
		}
		n.readyTerm.Store(term)
	}
	return n.db.ReadSeq(), nil
}

// reconcileLoop, on the leader, takes nodes the charter no longer admits
// out of the raft configuration (REMOVE NODE). The leader never removes
// itself; it hands leadership over first.
func (n *Node) reconcileLoop() {
	defer n.wg.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	var lastSys uint64
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		if !n.IsLeader() || n.cfg.Admitted == nil {
			lastSys = 0
			continue
		}
		n.promoteCaughtUp()
		if s := n.db.SystemSeq(); s == lastSys {
			continue
		} else {
			lastSys = s
		}
		admitted, err := n.cfg.Admitted()
		if err != nil {
			n.log.Warn("cluster: read the charter's nodes", "err", err)
			continue
		}
		if len(admitted) == 0 {
			continue // a store from before node admission: nothing to enforce
		}
		cf := n.r().GetConfiguration()
		if cf.Error() != nil {
			continue
		}
		for _, s := range cf.Configuration().Servers {
			id := string(s.ID)
			if admitted[id] {
				continue
			}
			if id == n.cfg.NodeID {
				n.log.Info("cluster: this node was removed by the charter; handing leadership over")
				_ = n.r().LeadershipTransfer().Error()
				lastSys = 0
				continue
			}
			n.log.Info("cluster: removing a node the charter no longer admits", "removed", id)
			if err := n.r().RemoveServer(s.ID, 0, 0).Error(); err != nil {
				n.log.Warn("cluster: remove server", "removed", id, "err", err)
				lastSys = 0
			}
		}
	}
}

// promoteLag is how many log entries behind the leader a nonvoter may be
// when it is made a voter.
const promoteLag = 1000

// promoteCaughtUp makes voters of the nonvoters (admitted joiners) that
// have caught up with the leader. A joiner is added as a nonvoter first,
// so that a small cluster keeps its quorum while the joiner starts and
// catches up (a new voter that never comes up would stall a one-node
// cluster).
func (n *Node) promoteCaughtUp() {
	cf := n.r().GetConfiguration()
	if cf.Error() != nil {
		return
	}
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage != raft.Nonvoter {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := n.peerStatus(ctx, string(s.Address))
		cancel()
		if err != nil || st.Applied+promoteLag < n.r().AppliedIndex() {
			continue
		}
		if err := n.r().AddVoter(s.ID, s.Address, 0, 0).Error(); err != nil {
			n.log.Warn("cluster: promote to voter", "node", s.ID, "err", err)
			continue
		}
		n.log.Info("cluster: node caught up; now a voter", "node", s.ID)
	}
}

// NodeStatus is one row of SHOW CLUSTER.
type NodeStatus struct {
	ID        string
	Address   string
	Role      string // leader, follower, candidate, pending, unreachable
	Applied   uint64 // last applied raft index
	Seq       uint64 // last visible ledger sequence
	ChainHead string // hex hash of the ledger entry at Seq
}

// localStatus describes this node.
func (n *Node) localStatus() NodeStatus {
	st := NodeStatus{ID: n.cfg.NodeID, Address: n.addr, Role: "pending", Seq: n.db.ReadSeq(), Applied: n.db.RaftIndex()}
	if n.r() != nil {
		st.Role = roleName(n.r().State())
		st.Applied = n.r().AppliedIndex()
	}
	if st.Seq > 0 {
		if e, err := n.db.Entry(st.Seq); err == nil {
			h := e.LeafHash()
			st.ChainHead = fmt.Sprintf("%x", h[:])
		}
	}
	return st
}

func roleName(s raft.RaftState) string {
	switch s {
	case raft.Leader:
		return "leader"
	case raft.Follower:
		return "follower"
	case raft.Candidate:
		return "candidate"
	default:
		return "shutdown"
	}
}

// Status returns every node of the configuration (and, on the leader,
// the joiners waiting for admission), asking each for its state.
func (n *Node) Status(ctx context.Context) ([]NodeStatus, error) {
	if n.r() == nil {
		return []NodeStatus{n.localStatus()}, nil
	}
	cf := n.r().GetConfiguration()
	if err := cf.Error(); err != nil {
		return nil, err
	}
	servers := cf.Configuration().Servers
	out := make([]NodeStatus, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		if string(s.ID) == n.cfg.NodeID {
			out[i] = n.localStatus()
			continue
		}
		wg.Add(1)
		go func(i int, s raft.Server) {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			st, err := n.peerStatus(cctx, string(s.Address))
			if err != nil {
				st = NodeStatus{ID: string(s.ID), Address: string(s.Address), Role: "unreachable"}
			}
			if s.Suffrage != raft.Voter && st.Role == "follower" {
				st.Role = "nonvoter"
			}
			out[i] = st
		}(i, s)
	}
	wg.Wait()
	var pend []NodeStatus
	if n.IsLeader() {
		n.pendingMu.Lock()
		for id, p := range n.pending {
			pend = append(pend, NodeStatus{ID: id, Address: p.Addr, Role: "pending"})
		}
		n.pendingMu.Unlock()
	} else if addr, _ := n.Leader(); addr != "" {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		pend, _ = n.peerPending(cctx, addr)
		cancel()
	}
	sort.Slice(pend, func(i, j int) bool { return pend[i].ID < pend[j].ID })
	out = append(out, pend...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
