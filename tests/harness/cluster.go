package harness

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// clusterTimeout bounds the harness's waits for elections, admissions and
// convergence.
const clusterTimeout = 30 * time.Second

// Cluster is a set of replicated nodes on loopback, all in one Mode. The
// first node bootstraps the cluster; each further node is admitted by
// ADD NODE on a member, then started with --join.
type Cluster struct {
	t    testing.TB
	opts Options
	// Nodes are the nodes in the order they were added, n1 first.
	Nodes []*Node
}

// StartCluster starts a cluster of size nodes, n1 … nsize, and returns
// once every node serves clients. opts apply to every node (Mode,
// snapshot tuning, FaultInjection); the harness sets the rest per node.
func StartCluster(t testing.TB, size int, opts Options) *Cluster {
	t.Helper()
	opts.Raft, opts.NodeID, opts.RaftAddr, opts.Join, opts.DataDir = true, "", "", "", ""
	c := &Cluster{t: t, opts: opts}
	first := opts
	first.NodeID = "n1"
	c.Nodes = append(c.Nodes, Start(t, first))
	for i := 2; i <= size; i++ {
		c.Add(fmt.Sprintf("n%d", i))
	}
	return c
}

// Add admits a node by ADD NODE on the leader, starts it with --join and
// waits until it serves clients and is a voter (a joiner starts as a
// nonvoter; the leader promotes it once it has caught up).
func (c *Cluster) Add(id string) *Node {
	c.t.Helper()
	c.Admit(id)
	n := c.StartPending(id)
	n.WaitStarted()
	c.WaitVoter(n)
	return n
}

// WaitVoter waits until the leader lists n as a voting member.
func (c *Cluster) WaitVoter(n *Node) {
	c.t.Helper()
	Eventually(c.t, clusterTimeout, func() error {
		leader, err := c.leader(nil)
		if err != nil {
			return err
		}
		rows, err := leader.ShowCluster()
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.ID == n.NodeID() && (r.Role == "follower" || r.Role == "leader") {
				return nil
			}
		}
		return fmt.Errorf("%s is not a voter yet: %+v", n.NodeID(), rows)
	})
}

// StartPending starts a node with --join without admitting it and
// without waiting: it waits for an ADD NODE. Call WaitStarted once it
// was admitted.
func (c *Cluster) StartPending(id string) *Node {
	c.t.Helper()
	o := c.opts
	o.NodeID, o.Join = id, c.Nodes[0].RaftAddr()
	n := StartAsync(c.t, o)
	c.Nodes = append(c.Nodes, n)
	return n
}

// Admit runs ADD NODE for id on the leader (a one-member network accepts
// the proposal at once).
func (c *Cluster) Admit(id string) {
	c.t.Helper()
	leader := c.WaitLeader(clusterTimeout)
	if err := leader.exec("ADD NODE '" + id + "'"); err != nil {
		c.t.Fatalf("harness: ADD NODE %s on %s: %v", id, leader.NodeID(), err)
	}
}

// Node returns the node with id, or fails the test.
func (c *Cluster) Node(id string) *Node {
	c.t.Helper()
	for _, n := range c.Nodes {
		if n.NodeID() == id {
			return n
		}
	}
	c.t.Fatalf("harness: no node %q in the cluster", id)
	return nil
}

// Running returns the nodes that serve clients.
func (c *Cluster) Running() []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if n.Running() {
			out = append(out, n)
		}
	}
	return out
}

// Leader returns the one running, unpartitioned node that reports itself
// leader, or nil if there is none or more than one.
func (c *Cluster) Leader() *Node {
	l, _ := c.leader(nil)
	return l
}

func (c *Cluster) leader(except []*Node) (*Node, error) {
	var leaders, asked []string
	var leader *Node
	for _, n := range c.Running() {
		if n.partitioned || slices.Contains(except, n) {
			continue
		}
		self, err := n.Self()
		if err != nil {
			return nil, err
		}
		asked = append(asked, n.NodeID()+"="+self.Role)
		if self.Role == "leader" {
			leaders = append(leaders, n.NodeID())
			leader = n
		}
	}
	if len(leaders) != 1 {
		return nil, fmt.Errorf("harness: want one leader, nodes say %s", strings.Join(asked, " "))
	}
	return leader, nil
}

// WaitLeader waits until exactly one running, unpartitioned node outside
// except reports itself leader, and returns it.
func (c *Cluster) WaitLeader(timeout time.Duration, except ...*Node) *Node {
	c.t.Helper()
	var leader *Node
	Eventually(c.t, timeout, func() error {
		var err error
		leader, err = c.leader(except)
		return err
	})
	return leader
}

// Followers returns the running nodes other than the leader (waiting
// for one).
func (c *Cluster) Followers() []*Node {
	c.t.Helper()
	leader := c.WaitLeader(clusterTimeout)
	var out []*Node
	for _, n := range c.Running() {
		if n != leader {
			out = append(out, n)
		}
	}
	return out
}

// WaitConverged waits until every running node reports, for itself in
// SHOW CLUSTER, the same applied index, sequence and chain head, and
// returns that state.
func (c *Cluster) WaitConverged(timeout time.Duration) ClusterRow {
	c.t.Helper()
	var state ClusterRow
	Eventually(c.t, timeout, func() error {
		var seen []string
		same := true
		for i, n := range c.Running() {
			self, err := n.Self()
			if err != nil {
				return err
			}
			seen = append(seen, fmt.Sprintf("%s: applied %d seq %d head %.12s", n.NodeID(), self.Applied, self.Seq, self.ChainHead))
			if i == 0 {
				state = self
			} else if self.Applied != state.Applied || self.Seq != state.Seq || self.ChainHead != state.ChainHead {
				same = false
			}
		}
		if !same || state.ChainHead == "" {
			return fmt.Errorf("harness: nodes differ: %s", strings.Join(seen, "; "))
		}
		return nil
	})
	return state
}

// ClusterRow is one row of SHOW CLUSTER.
type ClusterRow struct {
	ID, Address, Role string
	Applied, Seq      uint64
	ChainHead         string
}

// ShowCluster runs SHOW CLUSTER on the node.
func (n *Node) ShowCluster() ([]ClusterRow, error) {
	db, err := n.adminPool()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, "SHOW CLUSTER")
	if err != nil {
		return nil, fmt.Errorf("SHOW CLUSTER on %s: %w", n.NodeID(), err)
	}
	defer rows.Close()
	var out []ClusterRow
	for rows.Next() {
		var r ClusterRow
		var head sql.NullString
		if err := rows.Scan(&r.ID, &r.Address, &r.Role, &r.Applied, &r.Seq, &head); err != nil {
			return nil, err
		}
		r.ChainHead = head.String
		out = append(out, r)
	}
	return out, rows.Err()
}

// Self returns the node's own row of SHOW CLUSTER.
func (n *Node) Self() (ClusterRow, error) {
	rows, err := n.ShowCluster()
	if err != nil {
		return ClusterRow{}, err
	}
	for _, r := range rows {
		if r.ID == n.NodeID() {
			return r, nil
		}
	}
	return ClusterRow{}, fmt.Errorf("harness: SHOW CLUSTER on %s does not list it", n.NodeID())
}

// Partition cuts the node's cluster transport (raft and peer RPCs); its
// clients stay connected. The node needs Options.FaultInjection in
// process mode.
func (n *Node) Partition() {
	n.t.Helper()
	n.setPartitioned(true)
}

// Heal restores the transport Partition cut.
func (n *Node) Heal() {
	n.t.Helper()
	n.setPartitioned(false)
}

func (n *Node) setPartitioned(cut bool) {
	n.t.Helper()
	switch {
	case n.srv != nil && n.srv.Cluster() != nil:
		n.srv.Cluster().SetBlocked(cut)
	case n.proc != nil && n.adminAddr != "":
		path := map[bool]string{true: "partition", false: "heal"}[cut]
		resp, err := http.Post("http://"+n.adminAddr+"/fault/"+path, "text/plain", nil)
		if err != nil {
			n.t.Fatalf("harness: fault injection on %s: %v", n.NodeID(), err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			n.t.Fatalf("harness: fault injection on %s: %s", n.NodeID(), resp.Status)
		}
	default:
		n.t.Fatalf("harness: cannot partition %s: not a running cluster node (process nodes need Options.FaultInjection)", n.NodeID())
	}
	n.partitioned = cut
	n.out.note(fmt.Sprintf("harness: partitioned=%v", cut))
}

// Partitioned reports whether Partition was called and Heal not since.
func (n *Node) Partitioned() bool { return n.partitioned }

// exec runs one statement as admin on the node.
func (n *Node) exec(stmt string) error {
	db, err := n.adminPool()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

// adminPool is the harness's own connection to the node, remade after
// each restart (in-process connections outlive their server).
func (n *Node) adminPool() (*sql.DB, error) {
	if !n.Running() {
		return nil, errors.New("harness: node " + n.NodeID() + " is not running")
	}
	if n.pool != nil {
		return n.pool, nil
	}
	cfg := n.Config()
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = 2*time.Second, 15*time.Second, 15*time.Second
	cfg.Logger = DiscardLogger
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	n.pool = sql.OpenDB(conn)
	n.pool.SetMaxOpenConns(2)
	return n.pool, nil
}

func (n *Node) closePool() {
	if n.pool != nil {
		n.pool.Close()
		n.pool = nil
	}
}
