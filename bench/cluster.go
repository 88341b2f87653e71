package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CofferCluster is a 3-node Coffer cluster on loopback: raft over the
// TLS transport, each node a `coffer serve` process with its own data
// dir. Clients connect to the first node, which bootstraps the cluster
// and stays its leader while nothing fails.
const CofferCluster = "coffer-3"

// clusterSize is the number of nodes of CofferCluster.
const clusterSize = 3

type clusterSystem struct {
	bin   string
	nodes []*cofferSystem
}

func newCofferCluster(bin string) *clusterSystem { return &clusterSystem{bin: bin} }

func (c *clusterSystem) Name() string    { return CofferCluster }
func (c *clusterSystem) Version() string { return c.nodes[0].Version() + " (3 nodes, raft)" }

// Endpoint is the leader's MySQL address: clients of a benchmark write
// to the leader, as the first node normally stays. Should the role move
// (a node starved of CPU long enough for an election), the runs follow
// it rather than measure every commit forwarded from a follower.
func (c *clusterSystem) Endpoint() Endpoint { return c.nodes[c.leader()].Endpoint() }

// AdminAddr is the leader's HTTP address (readyz, pprof).
func (c *clusterSystem) AdminAddr() string { return c.nodes[c.leader()].AdminAddr() }

// leader returns the index of the node the first node's /readyz names as
// leader ("ready seq=N leader=ID"), or 0 if it cannot tell.
func (c *clusterSystem) leader() int {
	if len(c.nodes) == 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.nodes[0].AdminAddr()+"/readyz", nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_, id, ok := strings.Cut(strings.TrimSpace(string(b)), "leader=")
	if !ok {
		return 0
	}
	for i := range c.nodes {
		if id == "n"+strconv.Itoa(i+1) {
			return i
		}
	}
	return 0
}

func (c *clusterSystem) Start(ctx context.Context, dir string) error {
	var first string
	for i := 1; i <= clusterSize; i++ {
		id := "n" + strconv.Itoa(i)
		port, err := freePort()
		if err != nil {
			return err
		}
		raftAddr := "127.0.0.1:" + strconv.Itoa(port)
		args := []string{"--node-id", id, "--raft-addr", raftAddr}
		if i == 1 {
			first = raftAddr
		} else {
			if err := c.admit(ctx, id); err != nil {
				return err
			}
			args = append(args, "--join", first)
		}
		n := newCoffer(c.bin)
		n.extraArgs = args
		ndir := filepath.Join(dir, id)
		if err := os.MkdirAll(ndir, 0o755); err != nil {
			return err
		}
		if err := n.start(ctx, ndir, i == 1); err != nil {
			return fmt.Errorf("node %s: %w", id, err)
		}
		c.nodes = append(c.nodes, n)
	}
	return createMySQLDatabase(ctx, c.Endpoint())
}

// admit runs ADD NODE on the first node (its admin is the only member, so
// the proposal passes at once).
func (c *clusterSystem) admit(ctx context.Context, id string) error {
	db, err := sql.Open("mysql", mysqlDSN(c.nodes[0].Endpoint(), "")+"?interpolateParams=true")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "ADD NODE '"+id+"'"); err != nil {
		return fmt.Errorf("ADD NODE %s: %w", id, err)
	}
	return nil
}

func (c *clusterSystem) Stop() error {
	var errs []error
	for i := len(c.nodes) - 1; i >= 0; i-- {
		errs = append(errs, c.nodes[i].proc.stop(0, syscall.SIGTERM))
	}
	return errors.Join(errs...)
}
