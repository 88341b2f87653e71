package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
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

func (c *clusterSystem) Name() string       { return CofferCluster }
func (c *clusterSystem) Endpoint() Endpoint { return c.nodes[0].Endpoint() }
func (c *clusterSystem) Version() string    { return c.nodes[0].Version() + " (3 nodes, raft)" }

// AdminAddr is the leader's HTTP address (readyz, pprof).
func (c *clusterSystem) AdminAddr() string { return c.nodes[0].AdminAddr() }

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
