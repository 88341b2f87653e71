package cluster

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/cofferdb/coffer/storage"
	"github.com/cofferdb/coffer/storage/ledger"
)

// Peer RPCs over the Mux's TagRPC connections: Go's net/rpc (gob), one
// pipelined connection per peer, concurrent calls multiplexed on it.
// Only nodes with endorsed certificates reach them (the Mux checks).

var (
	errNotLeader       = errors.New("cluster: not the leader")
	errPeerUnreachable = errors.New("cluster: peer unreachable")
	// errNotSent: no connection to the peer, so the call never left.
	errNotSent = errors.New("cluster: call not sent")
)

// ProposeArgs carries a log command to the leader.
type ProposeArgs struct{ Cmd []byte }

// ProposeReply is the leader's answer.
type ProposeReply struct {
	Seq       uint64
	NotLeader bool
	Conflict  *ConflictInfo
	Err       string
}

// ConflictInfo is a storage.ConflictError on the wire.
type ConflictInfo struct {
	Key      []byte
	ReadSeq  uint64
	Conflict uint64
}

// SeqReply answers ReadIndex.
type SeqReply struct {
	Seq       uint64
	NotLeader bool
}

// Empty is the argument of calls that take none.
type Empty struct{}

// Service is the RPC receiver (exported for net/rpc only).
type Service struct{ n *Node }

// Propose appends a command forwarded by a follower.
func (s *Service) Propose(a ProposeArgs, r *ProposeReply) error {
	if !s.n.IsLeader() {
		r.NotLeader = true
		return nil
	}
	seq, err := s.n.applyLocal(context.Background(), a.Cmd)
	var ce *storage.ConflictError
	switch {
	case err == nil:
		r.Seq = seq
	case errors.Is(err, raft.ErrNotLeader):
		r.NotLeader = true
	case errors.As(err, &ce):
		r.Conflict = &ConflictInfo{Key: ce.Key, ReadSeq: ce.ReadSeq, Conflict: ce.Conflict}
	default:
		r.Err = err.Error()
	}
	return nil
}

// ReadIndex returns the leader's applied sequence after confirming it
// still leads.
func (s *Service) ReadIndex(_ Empty, r *SeqReply) error {
	seq, err := s.n.readIndex(context.Background())
	if err != nil {
		r.NotLeader = true
		return nil
	}
	r.Seq = seq
	return nil
}

// Status describes the answering node.
func (s *Service) Status(_ Empty, r *NodeStatus) error {
	*r = s.n.localStatus()
	return nil
}

// Pending lists the joiners waiting for admission (leader only).
func (s *Service) Pending(_ Empty, r *[]NodeStatus) error {
	s.n.pendingMu.Lock()
	defer s.n.pendingMu.Unlock()
	for id, p := range s.n.pending {
		*r = append(*r, NodeStatus{ID: id, Address: p.Addr, Role: "pending"})
	}
	return nil
}

func (n *Node) serveRPC() {
	srv := rpc.NewServer()
	if err := srv.RegisterName("Coffer", &Service{n: n}); err != nil {
		panic(err)
	}
	rpcLn := n.mux.Listen(TagRPC)
	joinLn := n.mux.Listen(TagJoin)
	n.wg.Add(2)
	go func() {
		defer n.wg.Done()
		for {
			c, err := rpcLn.Accept()
			if err != nil {
				return
			}
			go srv.ServeConn(c)
		}
	}()
	go func() {
		defer n.wg.Done()
		for {
			c, err := joinLn.Accept()
			if err != nil {
				return
			}
			go n.handleJoin(c)
		}
	}()
}

// peerClient is an RPC connection to one peer.
type peerClient struct{ c *rpc.Client }

// newPeerClient is rpc.NewClient with a codec that records, per call,
// whether its request was written.
func newPeerClient(conn io.ReadWriteCloser) *peerClient {
	buf := bufio.NewWriter(conn)
	return &peerClient{c: rpc.NewClientWithCodec(&sentCodec{rwc: conn, dec: gob.NewDecoder(conn), enc: gob.NewEncoder(buf), buf: buf})}
}

func (p *peerClient) close() { _ = p.c.Close() }

// trackedArgs are a call's arguments and the flag sentCodec sets before
// it writes them: a call that failed with the flag unset never reached
// the peer and may go again. net/rpc alone cannot tell: a call made on a
// client whose connection already broke fails with rpc.ErrShutdown
// without being written, and so does a written call cut off by Close.
// (Before, a flag set by close told the two apart, and misjudged the
// calls of other goroutines that raced for the same broken client after
// one of them closed it: their commits, never sent, answered "outcome
// unknown".)
type trackedArgs struct {
	args any
	sent *atomic.Bool
}

// sentCodec is net/rpc's gob client codec, plus trackedArgs.
type sentCodec struct {
	rwc io.ReadWriteCloser
	dec *gob.Decoder
	enc *gob.Encoder
	buf *bufio.Writer
}

func (c *sentCodec) WriteRequest(r *rpc.Request, body any) error {
	if t, ok := body.(trackedArgs); ok {
		t.sent.Store(true)
		body = t.args
	}
	if err := c.enc.Encode(r); err != nil {
		return err
	}
	if err := c.enc.Encode(body); err != nil {
		return err
	}
	return c.buf.Flush()
}

func (c *sentCodec) ReadResponseHeader(r *rpc.Response) error { return c.dec.Decode(r) }
func (c *sentCodec) ReadResponseBody(body any) error          { return c.dec.Decode(body) }
func (c *sentCodec) Close() error                             { return c.rwc.Close() }

func (n *Node) peer(ctx context.Context, addr string) (*peerClient, error) {
	n.peersMu.Lock()
	p := n.peers[addr]
	n.peersMu.Unlock()
	if p != nil {
		return p, nil
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := n.mux.Dial(dctx, addr, TagRPC, n.creds.Load().ClientTLS())
	if err != nil {
		return nil, fmt.Errorf("%w (%w): %v", errPeerUnreachable, errNotSent, err)
	}
	p = newPeerClient(conn)
	n.peersMu.Lock()
	defer n.peersMu.Unlock()
	if old := n.peers[addr]; old != nil {
		p.close()
		return old, nil
	}
	n.peers[addr] = p
	return p, nil
}

// call runs one RPC on addr, dropping the connection on transport errors.
func (n *Node) call(ctx context.Context, addr, method string, args, reply any) error {
	p, err := n.peer(ctx, addr)
	if err != nil {
		return err
	}
	err = p.do(ctx, n.stop, method, args, reply)
	if errors.Is(err, errPeerUnreachable) {
		n.peersMu.Lock()
		if n.peers[addr] == p {
			delete(n.peers, addr)
		}
		n.peersMu.Unlock()
		p.close()
	}
	return err
}

// do runs one call. A transport failure is errPeerUnreachable, wrapping
// errNotSent too when the request was never written.
func (p *peerClient) do(ctx context.Context, stop <-chan struct{}, method string, args, reply any) error {
	sent := new(atomic.Bool)
	call := p.c.Go("Coffer."+method, trackedArgs{args: args, sent: sent}, reply, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
	case <-ctx.Done():
		return ctx.Err()
	case <-stop:
		return errors.New("cluster: shutting down")
	}
	if call.Error == nil {
		return nil
	}
	var se rpc.ServerError
	if errors.As(call.Error, &se) {
		return call.Error
	}
	if !sent.Load() {
		// A connection that broke while idle (a partition).
		return fmt.Errorf("%w (%w): %v", errPeerUnreachable, errNotSent, call.Error)
	}
	return fmt.Errorf("%w: %v", errPeerUnreachable, call.Error)
}

func (n *Node) forwardPropose(ctx context.Context, leader string, cmd []byte) (uint64, error) {
	var r ProposeReply
	if err := n.call(ctx, leader, "Propose", ProposeArgs{Cmd: cmd}, &r); err != nil {
		if errors.Is(err, errPeerUnreachable) && !errors.Is(err, errNotSent) {
			// The command may have reached the leader before the
			// connection broke: its outcome is unknown.
			return 0, fmt.Errorf("cluster: the outcome of this commit is unknown (%v); check before retrying", err)
		}
		return 0, err
	}
	switch {
	case r.NotLeader:
		return 0, errNotLeader
	case r.Conflict != nil:
		return 0, &storage.ConflictError{Key: r.Conflict.Key, ReadSeq: r.Conflict.ReadSeq, Conflict: r.Conflict.Conflict}
	case r.Err != "":
		return 0, errors.New(r.Err)
	}
	return r.Seq, nil
}

func (n *Node) forwardReadIndex(ctx context.Context, leader string) (uint64, error) {
	var r SeqReply
	if err := n.call(ctx, leader, "ReadIndex", Empty{}, &r); err != nil {
		return 0, err
	}
	if r.NotLeader {
		return 0, errNotLeader
	}
	return r.Seq, nil
}

func (n *Node) peerStatus(ctx context.Context, addr string) (NodeStatus, error) {
	var r NodeStatus
	err := n.call(ctx, addr, "Status", Empty{}, &r)
	return r, err
}

func (n *Node) peerPending(ctx context.Context, addr string) ([]NodeStatus, error) {
	var r []NodeStatus
	err := n.call(ctx, addr, "Pending", Empty{}, &r)
	return r, err
}

// Join handshake (TagJoin): one JSON request and response per connection.

type joinRequest struct {
	NodeID string `json:"node_id"`
	Addr   string `json:"addr"`
}

type joinResponse struct {
	Status         string `json:"status"` // admitted, pending, redirect, refused
	Leader         string `json:"leader,omitempty"`
	Message        string `json:"message,omitempty"`
	NodeCertPEM    []byte `json:"node_cert,omitempty"`
	ServiceCertPEM []byte `json:"service_cert,omitempty"`
	ServiceKeyPEM  []byte `json:"service_key,omitempty"`
}

func (n *Node) handleJoin(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var req joinRequest
	if err := json.NewDecoder(c).Decode(&req); err != nil {
		return
	}
	resp := n.join(c, req)
	_ = json.NewEncoder(c).Encode(resp)
}

func (n *Node) join(c net.Conn, req joinRequest) joinResponse {
	cert, err := PeerCertificate(c)
	if err != nil {
		return joinResponse{Status: "refused", Message: err.Error()}
	}
	if ledger.NodeIDOf(cert) != req.NodeID || req.NodeID == "" {
		return joinResponse{Status: "refused", Message: fmt.Sprintf("the certificate names node %q, the request %q", ledger.NodeIDOf(cert), req.NodeID)}
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return joinResponse{Status: "refused", Message: "node keys are ECDSA P-256"}
	}
	if _, _, err := net.SplitHostPort(req.Addr); err != nil {
		return joinResponse{Status: "refused", Message: "bad raft address: " + err.Error()}
	}
	if n.r() == nil || !n.IsLeader() {
		addr, _ := n.Leader()
		return joinResponse{Status: "redirect", Leader: addr, Message: "not the leader"}
	}
	admitted, err := n.cfg.Admitted()
	if err != nil {
		return joinResponse{Status: "pending", Message: err.Error()}
	}
	if !admitted[req.NodeID] {
		n.pendingMu.Lock()
		if _, ok := n.pending[req.NodeID]; !ok {
			n.log.Info("cluster: a node asks to join; it waits for a member's ADD NODE", "joiner", req.NodeID, "addr", req.Addr)
		}
		n.pending[req.NodeID] = pendingNode{Addr: req.Addr, Since: time.Now()}
		n.pendingMu.Unlock()
		return joinResponse{Status: "pending", Message: fmt.Sprintf("node %q is not admitted: a member must run ADD NODE '%s'", req.NodeID, req.NodeID)}
	}
	// Admission is for one key: a node id already in the configuration
	// joins again only with the key it was admitted with (a joiner that
	// lost the first answer). A node that lost its key is removed (REMOVE
	// NODE) and admitted again (ADD NODE).
	fp := keyFingerprint(pub)
	inConfig, err := n.inConfiguration(req.NodeID)
	if err != nil {
		return joinResponse{Status: "pending", Message: err.Error()}
	}
	if inConfig {
		if joined, _, _ := n.db.Get(joinedKey(req.NodeID), n.db.ReadSeq()); string(joined) != fp {
			n.log.Warn("cluster: refused a join with another key for a member's id", "joiner", req.NodeID, "addr", req.Addr)
			return joinResponse{Status: "refused", Message: fmt.Sprintf("node %q is a member with another key; to admit a new key, REMOVE NODE '%s' and ADD NODE '%s' again", req.NodeID, req.NodeID, req.NodeID)}
		}
	} else {
		// Recorded (and in the ledger) before the configuration change,
		// which may need the joiner's vote to commit.
		ws := storage.WriteSet{Mutations: []storage.Mutation{{Key: joinedKey(req.NodeID), Value: []byte(fp)}}}
		cmd := encodeCommit(&commitCmd{ReadSeq: n.db.ReadSeq(), Time: time.Now().UnixNano(), Principal: "node " + req.NodeID, Kind: ledger.KindGovernance, WS: ws})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := n.applyLocal(ctx, cmd)
		cancel()
		if err != nil {
			return joinResponse{Status: "pending", Message: "recording the admission: " + err.Error()}
		}
	}
	endorsed, err := ledger.EndorseNode(req.NodeID, pub, n.cfg.Service)
	if err != nil {
		return joinResponse{Status: "refused", Message: err.Error()}
	}
	keyPEM, err := n.cfg.Service.KeyPEM()
	if err != nil {
		return joinResponse{Status: "refused", Message: err.Error()}
	}
	n.pendingMu.Lock()
	delete(n.pending, req.NodeID)
	n.pendingMu.Unlock()
	// A nonvoter first: it receives the log without counting for the
	// quorum; the leader promotes it once it has caught up
	// (promoteCaughtUp). A member asking again keeps its suffrage.
	if !inConfig {
		f := n.r().AddNonvoter(raft.ServerID(req.NodeID), raft.ServerAddress(req.Addr), 0, 0)
		go func() {
			if err := f.Error(); err != nil {
				n.log.Warn("cluster: add nonvoter", "joiner", req.NodeID, "err", err)
				return
			}
			n.log.Info("cluster: node added; a voter once it has caught up", "joiner", req.NodeID, "addr", req.Addr)
		}()
	}
	return joinResponse{
		Status: "admitted", NodeCertPEM: (&ledger.Identity{Cert: endorsed}).CertPEM(),
		ServiceCertPEM: n.cfg.Service.CertPEM(), ServiceKeyPEM: keyPEM,
	}
}

// joinedKey records, per node id, the fingerprint of the key the node was
// admitted with.
func joinedKey(id string) []byte { return storage.SystemKey("cluster/joined/" + id) }

func keyFingerprint(pub *ecdsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// inConfiguration reports whether id is a server of the raft configuration.
func (n *Node) inConfiguration(id string) (bool, error) {
	f := n.r().GetConfiguration()
	if err := f.Error(); err != nil {
		return false, err
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == id {
			return true, nil
		}
	}
	return false, nil
}

// Join asks the node at cfg.Join (redirected to the leader) to admit this
// node, waiting while it is pending, then starts raft with the endorsed
// identity. It returns at once on a member.
func (n *Node) Join(ctx context.Context) error {
	if n.r() != nil {
		return nil
	}
	addr := n.cfg.Join
	var tofu *x509.Certificate
	conf := ClientTLSTOFU(n.cfg.Node, func(c *x509.Certificate) error {
		if n.cfg.ServiceCert != nil {
			if !c.Equal(n.cfg.ServiceCert) {
				return errors.New("cluster: the joined node presents a different service certificate than --service-cert")
			}
		} else if tofu == nil || !tofu.Equal(c) {
			sum := sha256.Sum256(c.Raw)
			n.log.Warn("cluster: trusting the service certificate on first use", "sha256", hex.EncodeToString(sum[:]))
		}
		tofu = c
		return nil
	})
	waiting := false
	for {
		resp, err := n.joinOnce(ctx, addr, conf)
		switch {
		case err != nil:
			n.log.Warn("cluster: join attempt failed; retrying", "addr", addr, "err", err)
		case resp.Status == "admitted":
			return n.admitted(resp, tofu)
		case resp.Status == "redirect" && resp.Leader != "":
			addr = resp.Leader
			continue
		case resp.Status == "refused":
			return fmt.Errorf("cluster: join refused: %s", resp.Message)
		case resp.Status == "pending" && !waiting:
			n.log.Info("cluster: waiting for admission", "message", resp.Message)
			waiting = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.stop:
			return errors.New("cluster: closed while joining")
		case <-time.After(300 * time.Millisecond):
		}
		if resp.Status == "redirect" || err != nil {
			addr = n.cfg.Join
		}
	}
}

func (n *Node) joinOnce(ctx context.Context, addr string, conf *tls.Config) (joinResponse, error) {
	var resp joinResponse
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := Dial(cctx, addr, TagJoin, conf)
	if err != nil {
		return resp, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := json.NewEncoder(c).Encode(joinRequest{NodeID: n.cfg.NodeID, Addr: n.addr}); err != nil {
		return resp, err
	}
	err = json.NewDecoder(c).Decode(&resp)
	return resp, err
}

func (n *Node) admitted(resp joinResponse, seen *x509.Certificate) error {
	service, err := ledger.ParseIdentityPEM(resp.ServiceCertPEM, resp.ServiceKeyPEM)
	if err != nil {
		return fmt.Errorf("cluster: admission: service identity: %w", err)
	}
	if seen != nil && !seen.Equal(service.Cert) {
		return errors.New("cluster: admission: the service certificate differs from the one the server presented")
	}
	cert, err := ledger.ParseCertPEM(resp.NodeCertPEM)
	if err != nil {
		return fmt.Errorf("cluster: admission: node certificate: %w", err)
	}
	if err := ledger.Endorsed(cert, service.Cert); err != nil {
		return err
	}
	if !n.cfg.Node.Key.PublicKey.Equal(cert.PublicKey) {
		return errors.New("cluster: admission: the endorsed certificate is for another key")
	}
	node := &ledger.Identity{Key: n.cfg.Node.Key, Cert: cert}
	if n.cfg.OnAdmitted != nil {
		if err := n.cfg.OnAdmitted(node, service); err != nil {
			return err
		}
	}
	n.cfg.Node, n.cfg.Service = node, service
	n.creds.Store(NewCredentials(node, service.Cert))
	n.mux.SetTLSConfig(n.creds.Load().ServerTLS())
	n.log.Info("cluster: admitted; starting raft")
	return n.startRaft()
}
