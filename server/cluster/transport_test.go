package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cofferdb/coffer/storage/ledger"
	"github.com/hashicorp/raft"
)

// testService is a service identity and node identities it endorses.
type testService struct {
	svc   *ledger.Identity
	nodes []*ledger.Identity
}

func newTestService(t testing.TB, name string, nodes int) *testService {
	t.Helper()
	svc, err := ledger.NewServiceIdentity(name)
	if err != nil {
		t.Fatal(err)
	}
	s := &testService{svc: svc}
	for i := range nodes {
		n, err := ledger.NewNodeIdentity(name+"-n"+string(rune('1'+i)), svc)
		if err != nil {
			t.Fatal(err)
		}
		s.nodes = append(s.nodes, n)
	}
	return s
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startMux serves conf on a loopback port until the test ends.
func startMux(t testing.TB, conf *tls.Config) *Mux {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMux(ln, conf, testLogger(t))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := m.Serve(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		_ = m.Close()
		<-done
	})
	return m
}

// answer accepts connections on l and writes the common name of each peer
// certificate back, until l closes.
func answer(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		cert, err := PeerCertificate(c)
		if err != nil {
			_ = c.Close()
			continue
		}
		_, _ = io.WriteString(c, cert.Subject.CommonName+"\n")
		_ = c.Close()
	}
}

// ask dials tag on m and returns the first line the server writes.
func ask(t *testing.T, m *Mux, tag byte, conf *tls.Config) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, m.Addr().String(), tag, conf)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		return "", err
	}
	if len(b) == 0 {
		return "", io.EOF
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

func TestMuxClientVerification(t *testing.T) {
	t.Parallel()
	ours := newTestService(t, "ours", 2)
	theirs := newTestService(t, "theirs", 1)
	m := startMux(t, ServerTLS(ours.nodes[0], ours.svc.Cert))
	for _, tag := range []byte{TagRaft, TagRPC, TagJoin} {
		l := m.Listen(tag)
		defer l.Close()
		go answer(l)
	}

	endorsed := ClientTLS(ours.nodes[1], ours.svc.Cert)
	// A key the service never endorsed, on a client that trusts our service.
	foreign := NewCredentials(theirs.nodes[0], ours.svc.Cert).ClientTLS()
	// A self-signed key (a joiner's own), also on a client that trusts us.
	selfSigned := NewCredentials(theirs.svc, ours.svc.Cert).ClientTLS()

	for _, tc := range []struct {
		name   string
		tag    byte
		conf   *tls.Config
		wantCN string // "" means refused
	}{
		{"raft endorsed", TagRaft, endorsed, ours.nodes[1].Cert.Subject.CommonName},
		{"rpc endorsed", TagRPC, endorsed, ours.nodes[1].Cert.Subject.CommonName},
		{"join endorsed", TagJoin, endorsed, ours.nodes[1].Cert.Subject.CommonName},
		{"raft other service", TagRaft, foreign, ""},
		{"rpc other service", TagRPC, foreign, ""},
		{"raft self-signed", TagRaft, selfSigned, ""},
		{"join other service", TagJoin, foreign, theirs.nodes[0].Cert.Subject.CommonName},
		{"join self-signed", TagJoin, selfSigned, theirs.svc.Cert.Subject.CommonName},
		{"unknown tag", 99, endorsed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ask(t, m, tc.tag, tc.conf)
			if tc.wantCN == "" {
				if err == nil {
					t.Fatalf("connection accepted (peer seen as %q), want refused", got)
				}
				return
			}
			if err != nil || got != tc.wantCN {
				t.Fatalf("server saw %q, %v; want %q", got, err, tc.wantCN)
			}
		})
	}
}

func TestClientVerifiesServer(t *testing.T) {
	t.Parallel()
	ours := newTestService(t, "ours", 2)
	theirs := newTestService(t, "theirs", 1)
	// A server of another service, and a server presenting an unendorsed
	// key: both refused by a client of our service.
	for _, tc := range []struct {
		name string
		conf *tls.Config
	}{
		{"other service", ServerTLS(theirs.nodes[0], theirs.svc.Cert)},
		{"unendorsed", ServerTLS(theirs.nodes[0], ours.svc.Cert)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := startMux(t, tc.conf)
			go answer(m.Listen(TagJoin))
			_, err := ask(t, m, TagJoin, ClientTLS(ours.nodes[1], ours.svc.Cert))
			if err == nil || !strings.Contains(err.Error(), "not endorsed") {
				t.Fatalf("dial = %v, want a refused server certificate", err)
			}
		})
	}
}

func TestClientTLSTOFU(t *testing.T) {
	t.Parallel()
	ours := newTestService(t, "ours", 1)
	joiner := newTestService(t, "joiner", 0).svc // its own self-signed key
	m := startMux(t, ServerTLS(ours.nodes[0], ours.svc.Cert))
	go answer(m.Listen(TagJoin))

	var got *x509.Certificate
	conf := ClientTLSTOFU(joiner, func(c *x509.Certificate) error { got = c; return nil })
	cn, err := ask(t, m, TagJoin, conf)
	if err != nil || cn != joiner.Cert.Subject.CommonName {
		t.Fatalf("join = %q, %v; want the server to see %q", cn, err, joiner.Cert.Subject.CommonName)
	}
	if got == nil || !got.Equal(ours.svc.Cert) {
		t.Fatalf("callback got %v, want the service certificate", got)
	}

	refuse := errors.New("fingerprint mismatch")
	conf = ClientTLSTOFU(joiner, func(*x509.Certificate) error { return refuse })
	if _, err := ask(t, m, TagJoin, conf); !errors.Is(err, refuse) {
		t.Fatalf("join with a refused service certificate = %v, want %v", err, refuse)
	}

	// A server that does not send the service certificate cannot be
	// trusted on first use.
	bare := startMux(t, ServerTLS(ours.nodes[0], nil))
	go answer(bare.Listen(TagJoin))
	conf = ClientTLSTOFU(joiner, func(*x509.Certificate) error { return nil })
	if _, err := ask(t, bare, TagJoin, conf); err == nil || !strings.Contains(err.Error(), "no service certificate") {
		t.Fatalf("join with no service certificate = %v", err)
	}
}

func TestCredentialsSetIdentity(t *testing.T) {
	t.Parallel()
	ours := newTestService(t, "ours", 2)
	pending := newTestService(t, "pending", 0).svc
	server := NewCredentials(pending, ours.svc.Cert)
	m := startMux(t, server.ServerTLS())
	go answer(m.Listen(TagRaft))

	client := NewCredentials(pending, ours.svc.Cert)
	if _, err := ask(t, m, TagRaft, ClientTLS(ours.nodes[1], ours.svc.Cert)); err == nil {
		t.Fatal("server with an unendorsed key accepted by its peer")
	}
	server.SetIdentity(ours.nodes[0])
	if _, err := ask(t, m, TagRaft, client.ClientTLS()); err == nil {
		t.Fatal("client with an unendorsed key accepted for raft")
	}
	client.SetIdentity(ours.nodes[1])
	cn, err := ask(t, m, TagRaft, client.ClientTLS())
	if err != nil || cn != ours.nodes[1].Cert.Subject.CommonName {
		t.Fatalf("after SetIdentity: %q, %v", cn, err)
	}
}

func TestMuxSetBlocked(t *testing.T) {
	t.Parallel()
	ours := newTestService(t, "ours", 2)
	a := startMux(t, ServerTLS(ours.nodes[0], ours.svc.Cert))
	b := startMux(t, ServerTLS(ours.nodes[1], ours.svc.Cert))
	conf := ClientTLS(ours.nodes[0], ours.svc.Cert)
	bRaft := b.Listen(TagRaft)
	defer bRaft.Close()
	var mu sync.Mutex
	var accepted []net.Conn
	go func() {
		for {
			c, err := bRaft.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, c)
			mu.Unlock()
		}
	}()
	dial := func(from *Mux) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return from.Dial(ctx, b.Addr().String(), TagRaft, conf)
	}

	// An outgoing connection of a is dropped and refused while a is
	// blocked.
	c, err := dial(a)
	if err != nil {
		t.Fatal(err)
	}
	a.SetBlocked(true)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		t.Fatalf("read on a dropped connection = %v, want it closed", err)
	}
	if _, err := dial(a); !errors.Is(err, ErrBlocked) {
		t.Fatalf("dial while blocked = %v, want ErrBlocked", err)
	}
	a.SetBlocked(false)
	if _, err := dial(a); err != nil {
		t.Fatalf("dial after unblocking: %v", err)
	}

	// Incoming connections of b are dropped and refused while b is
	// blocked; a join connection is not.
	bJoin := b.Listen(TagJoin)
	defer bJoin.Close()
	go func() {
		for {
			c, err := bJoin.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c) }()
		}
	}()
	join, err := Dial(context.Background(), b.Addr().String(), TagJoin, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer join.Close()
	b.SetBlocked(true)
	_ = join.SetDeadline(time.Now().Add(5 * time.Second))
	echo := make([]byte, 1)
	if _, err := join.Write([]byte{'j'}); err != nil {
		t.Fatalf("join connection while blocked: write: %v", err)
	}
	if _, err := io.ReadFull(join, echo); err != nil || echo[0] != 'j' {
		t.Fatalf("join connection while blocked: echo %q, %v", echo, err)
	}
	c, err = Dial(context.Background(), b.Addr().String(), TagRaft, conf)
	if err == nil {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(make([]byte, 1))
		if err == nil || isTimeout(err) {
			t.Fatalf("incoming connection while blocked: read = %v, want closed", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, c := range accepted {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Fatalf("accepted connection of a blocked mux: read = %v, want closed", err)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// countFSM counts the commands it applied.
type countFSM struct {
	mu sync.Mutex
	n  uint64
}

func (f *countFSM) Apply(*raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return f.n
}

func (f *countFSM) count() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func (f *countFSM) Snapshot() (raft.FSMSnapshot, error) { return countSnapshot(f.count()), nil }

func (f *countFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var b [8]byte
	if _, err := io.ReadFull(rc, b[:]); err != nil {
		return err
	}
	f.mu.Lock()
	f.n = binary.BigEndian.Uint64(b[:])
	f.mu.Unlock()
	return nil
}

type countSnapshot uint64

func (s countSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(binary.BigEndian.AppendUint64(nil, uint64(s))); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (countSnapshot) Release() {}

// transportNode is one raft node of TestRaftOverStreamLayer.
type transportNode struct {
	mux  *Mux
	raft *raft.Raft
	fsm  *countFSM
}

func startTransportNode(t *testing.T, svc *ledger.Identity, id *ledger.Identity, name string) *transportNode {
	t.Helper()
	m := startMux(t, ServerTLS(id, svc.Cert))
	sl := NewStreamLayer(m, ClientTLS(id, svc.Cert))
	logger := HCLogger(testLogger(t), "raft-"+name)
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: sl, MaxPool: 3, Timeout: 2 * time.Second, Logger: logger,
	})
	store, err := OpenLogStore(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(name)
	conf.Logger = logger
	// Short but not twitchy: two shared cores under the race detector.
	conf.HeartbeatTimeout = 300 * time.Millisecond
	conf.ElectionTimeout = 300 * time.Millisecond
	conf.LeaderLeaseTimeout = 150 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	n := &transportNode{mux: m, fsm: &countFSM{}}
	n.raft, err = raft.NewRaft(conf, n.fsm, store, store, raft.NewInmemSnapshotStore(), trans)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = n.raft.Shutdown().Error()
		_ = trans.Close()
		_ = store.Close()
	})
	return n
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitLeader waits until nodes agree on a leader among themselves and
// returns it.
func waitLeader(t *testing.T, nodes []*transportNode) *transportNode {
	t.Helper()
	var leader *transportNode
	waitFor(t, "a leader", func() bool {
		leader = nil
		for _, n := range nodes {
			if n.raft.State() == raft.Leader {
				leader = n
			}
		}
		if leader == nil {
			return false
		}
		want := leader.raft.Leader()
		for _, n := range nodes {
			if n.raft.Leader() != want {
				return false
			}
		}
		return true
	})
	return leader
}

func applyN(t *testing.T, leader *transportNode, n int) {
	t.Helper()
	futures := make([]raft.ApplyFuture, n)
	for i := range futures {
		futures[i] = leader.raft.Apply([]byte{byte(i)}, 5*time.Second)
	}
	for _, f := range futures {
		if err := f.Error(); err != nil {
			t.Fatalf("apply: %v", err)
		}
	}
}

func waitApplied(t *testing.T, nodes []*transportNode, want uint64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d commands applied on %d nodes", want, len(nodes)), func() bool {
		for _, n := range nodes {
			if n.fsm.count() != want {
				return false
			}
		}
		return true
	})
}

func TestRaftOverStreamLayer(t *testing.T) {
	t.Parallel()
	ours := newTestService(t, "ours", 3)
	var nodes []*transportNode
	var servers []raft.Server
	for i, id := range ours.nodes {
		name := fmt.Sprintf("n%d", i+1)
		n := startTransportNode(t, ours.svc, id, name)
		nodes = append(nodes, n)
		servers = append(servers, raft.Server{ID: raft.ServerID(name), Address: raft.ServerAddress(n.mux.Addr().String())})
	}
	if err := nodes[0].raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatal(err)
	}

	leader := waitLeader(t, nodes)
	applyN(t, leader, 20)
	waitApplied(t, nodes, 20)

	// Partition the leader: the other two elect one of themselves and go on.
	leader.mux.SetBlocked(true)
	var rest []*transportNode
	for _, n := range nodes {
		if n != leader {
			rest = append(rest, n)
		}
	}
	newLeader := waitLeader(t, rest)
	applyN(t, newLeader, 10)
	waitApplied(t, rest, 30)
	if got := leader.fsm.count(); got != 20 {
		t.Fatalf("partitioned node applied %d commands, want 20", got)
	}

	// Healed, it catches up.
	leader.mux.SetBlocked(false)
	waitLeader(t, nodes)
	waitApplied(t, nodes, 30)
}
