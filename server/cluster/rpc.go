package cluster

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"net/rpc"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/cofferdb/coffer/storage"
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
	if isCommit(a.Cmd) {
		*r = proposeReply(s.n.batch.applyForwarded([][]byte{a.Cmd})[0].result())
		return nil
	}
	*r = proposeReply(s.n.applyLocal(context.Background(), a.Cmd))
	return nil
}

// ProposeBatchArgs carries commit commands a follower forwards together
// (forward.go).
type ProposeBatchArgs struct{ Cmds [][]byte }

// ProposeBatchReply answers each command of a ProposeBatch, in order.
type ProposeBatchReply struct{ Replies []ProposeReply }

// ProposeBatch appends commit commands forwarded together by a follower,
// in one batch entry when there is room, and answers each.
func (s *Service) ProposeBatch(a ProposeBatchArgs, r *ProposeBatchReply) error {
	r.Replies = make([]ProposeReply, len(a.Cmds))
	if !s.n.IsLeader() {
		for i := range r.Replies {
			r.Replies[i].NotLeader = true
		}
		return nil
	}
	for _, cmd := range a.Cmds {
		if !isCommit(cmd) {
			return fmt.Errorf("%w: only commit commands are forwarded in batches", errBadCommand)
		}
	}
	for i, p := range s.n.batch.applyForwarded(a.Cmds) {
		r.Replies[i] = proposeReply(p.result())
	}
	return nil
}

// proposeReply is the answer to a forwarded command's outcome.
func proposeReply(seq uint64, err error) ProposeReply {
	var r ProposeReply
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
	return r
}

// result is the forwarded command's outcome, as the follower returns it.
func (r *ProposeReply) result() (uint64, error) {
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

// AutoIncArgs asks the leader for N values of a table's AUTO_INCREMENT
// counter.
type AutoIncArgs struct{ Table, N uint64 }

// AutoIncReply is the first value reserved and the leader's term.
type AutoIncReply struct {
	First, Term uint64
	NotLeader   bool
	Err         string
}

// ReserveAutoInc reserves AUTO_INCREMENT values for a follower.
func (s *Service) ReserveAutoInc(a AutoIncArgs, r *AutoIncReply) error {
	rf := s.n.r()
	if rf == nil || !s.n.IsLeader() || s.n.cfg.ReserveAutoInc == nil {
		r.NotLeader = true
		return nil
	}
	r.Term = rf.CurrentTerm()
	first, err := s.n.cfg.ReserveAutoInc(a.Table, a.N)
	if err != nil {
		r.Err = err.Error()
		return nil
	}
	r.First = first
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

// forwardPropose forwards one command to the leader.
func (n *Node) forwardPropose(ctx context.Context, leader string, cmd []byte) (uint64, error) {
	var r ProposeReply
	if err := n.call(ctx, leader, "Propose", ProposeArgs{Cmd: cmd}, &r); err != nil {
		return 0, forwardErr(err)
	}
	return r.result()
}

// forwardErr is what a forwarded command's caller gets for a failed call:
// a command that may have reached the leader before the connection broke
// has an unknown outcome; the others were not appended.
func forwardErr(err error) error {
	if errors.Is(err, errPeerUnreachable) && !errors.Is(err, errNotSent) {
		return unknownOutcome(err)
	}
	return err
}

// ReserveAutoInc implements catalog.AutoIncSource: n values of table's
// AUTO_INCREMENT counter reserved on the leader. ok is false on the
// leader, and when the leader cannot be asked (the caller then uses its
// own counter: at worst its commit conflicts and runs again).
func (n *Node) ReserveAutoInc(ctx context.Context, table, count uint64) (first, term uint64, ok bool) {
	if n.r() == nil || n.IsLeader() {
		return 0, 0, false
	}
	addr, _ := n.Leader()
	if addr == "" {
		return 0, 0, false
	}
	var r AutoIncReply
	if err := n.call(ctx, addr, "ReserveAutoInc", AutoIncArgs{Table: table, N: count}, &r); err != nil || r.NotLeader || r.Err != "" {
		n.log.Debug("cluster: AUTO_INCREMENT values not reserved on the leader; using this node's counter", "leader", addr, "err", err, "reply_err", r.Err)
		return 0, 0, false
	}
	return r.First, r.Term, true
}

// AutoIncTerm implements catalog.AutoIncSource: the node's current term.
func (n *Node) AutoIncTerm() uint64 {
	if r := n.r(); r != nil {
		return r.CurrentTerm()
	}
	return 0
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
