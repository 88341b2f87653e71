package cluster

import (
	"context"
	"crypto/x509"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cofferdb/coffer/storage"
	"github.com/cofferdb/coffer/storage/ledger"
)

// startGenesis starts node n1 alone, bootstrapping a one-voter cluster
// that also admits the ids in others, and waits for it to lead. The node
// is closed when the test ends; ctx bounds the test's waits.
func startGenesis(t *testing.T, others ...string) (*Node, context.Context) {
	t.Helper()
	service, err := ledger.NewServiceIdentity("test")
	if err != nil {
		t.Fatal(err)
	}
	id, err := ledger.NewNodeIdentity("n1", service)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{"n1": true}
	for _, o := range others {
		ids[o] = true
	}
	admitted := func() (map[string]bool, error) { return ids, nil }
	n, err := Open(Config{NodeID: "n1", Dir: filepath.Join(t.TempDir(), "raft"), Addr: "127.0.0.1:0", Node: id, Service: service,
		DB: openStore(t), Admitted: admitted, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	for !n.IsLeader() {
		if ctx.Err() != nil {
			t.Fatal("n1 did not become leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// raft reports a leader before it appends its first (no-op) entry:
	// tests that count entries must start after it.
	if err := n.r().Barrier(10 * time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	return n, ctx
}

func openStore(t *testing.T) *storage.DB {
	t.Helper()
	db, err := storage.Open(storage.Config{InMemory: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Admission is for one key: a node id that joined can join again with
// its own key (an answer lost on the way), but not with another one.
func TestJoinAdmitsOneKeyPerNode(t *testing.T) {
	n1, ctx := startGenesis(t, "n2")
	quiet := slog.New(slog.DiscardHandler)

	pending, err := ledger.NewPendingNodeIdentity("n2")
	if err != nil {
		t.Fatal(err)
	}
	ask := func(id *ledger.Identity) joinResponse {
		t.Helper()
		j := &Node{cfg: Config{NodeID: "n2", Node: id}, addr: "127.0.0.1:1", log: quiet}
		resp, err := j.joinOnce(ctx, n1.Addr(), ClientTLSTOFU(id, func(c *x509.Certificate) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if r := ask(pending); r.Status != "admitted" {
		t.Fatalf("first join of n2: %s %s", r.Status, r.Message)
	}
	if r := ask(pending); r.Status != "admitted" {
		t.Fatalf("n2 asking again with its key: %s %s", r.Status, r.Message)
	}
	impostor, err := ledger.NewPendingNodeIdentity("n2")
	if err != nil {
		t.Fatal(err)
	}
	if r := ask(impostor); r.Status != "refused" || !strings.Contains(r.Message, "REMOVE NODE") {
		t.Fatalf("n2 with another key: %s %s; want refused", r.Status, r.Message)
	}
	other, err := ledger.NewPendingNodeIdentity("n1")
	if err != nil {
		t.Fatal(err)
	}
	j := &Node{cfg: Config{NodeID: "n1", Node: other}, addr: "127.0.0.1:1", log: quiet}
	if r, err := j.joinOnce(ctx, n1.Addr(), ClientTLSTOFU(other, func(*x509.Certificate) error { return nil })); err != nil || r.Status != "refused" {
		t.Fatalf("a join as the genesis node n1: %+v, %v; want refused", r, err)
	}
}
