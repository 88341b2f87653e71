package cluster

import (
	"context"
	"errors"
	"net"
	"net/rpc"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/cofferdb/coffer/storage"
)

// fakeLeader answers forwarded commits: command "c<n>" commits as seq n,
// "x<n>" conflicts, "r<n>" finds it no longer leads. The first call
// waits for release, so that the commits proposed meanwhile queue.
type fakeLeader struct {
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	calls   int
	sizes   []int // commits per call
}

func (f *fakeLeader) answer(cmd []byte) ProposeReply {
	n, _ := strconv.Atoi(string(cmd[1:]))
	switch cmd[0] {
	case 'x':
		return ProposeReply{Conflict: &ConflictInfo{Key: cmd, ReadSeq: 1, Conflict: 2}}
	case 'r':
		return ProposeReply{NotLeader: true}
	}
	return ProposeReply{Seq: uint64(n)}
}

func (f *fakeLeader) note(size int) {
	f.once.Do(func() { <-f.release })
	f.mu.Lock()
	f.calls++
	f.sizes = append(f.sizes, size)
	f.mu.Unlock()
}

// batchLeader has ProposeBatch; singleLeader, an earlier version, only
// Propose.
type batchLeader struct{ *fakeLeader }

func (l batchLeader) Propose(a ProposeArgs, r *ProposeReply) error {
	l.note(1)
	*r = l.answer(a.Cmd)
	return nil
}

func (l batchLeader) ProposeBatch(a ProposeBatchArgs, r *ProposeBatchReply) error {
	l.note(len(a.Cmds))
	for _, c := range a.Cmds {
		r.Replies = append(r.Replies, l.answer(c))
	}
	return nil
}

type singleLeader struct{ *fakeLeader }

func (l singleLeader) Propose(a ProposeArgs, r *ProposeReply) error {
	l.note(1)
	*r = l.answer(a.Cmd)
	return nil
}

// forwardTo returns a node whose RPC client for "leader" talks to svc.
func forwardTo(t *testing.T, svc any) *Node {
	t.Helper()
	srv := rpc.NewServer()
	if err := srv.RegisterName("Coffer", svc); err != nil {
		t.Fatal(err)
	}
	cc, sc := net.Pipe()
	go srv.ServeConn(sc)
	n := &Node{peers: map[string]*peerClient{"leader": newPeerClient(cc)}, stop: make(chan struct{})}
	n.fwd.n = n
	t.Cleanup(func() { n.peers["leader"].close() })
	return n
}

// Commits forwarded while earlier calls are in flight go together, and
// each gets its own outcome: its sequence, its conflict, or the leader's
// loss of leadership (not appended: the caller goes again). A leader
// without ProposeBatch gets them one call each.
func TestForwarderGroupsCommits(t *testing.T) {
	for _, batching := range []bool{true, false} {
		t.Run("ProposeBatch="+strconv.FormatBool(batching), func(t *testing.T) {
			fl := &fakeLeader{release: make(chan struct{})}
			var svc any = batchLeader{fl}
			if !batching {
				svc = singleLeader{fl}
			}
			n := forwardTo(t, svc)
			const commits = 40
			type outcome struct {
				seq uint64
				err error
			}
			out := make([]outcome, commits)
			var wg sync.WaitGroup
			for i := range commits {
				cmd := "c" + strconv.Itoa(i+1)
				switch i % 10 {
				case 3:
					cmd = "x" + strconv.Itoa(i+1)
				case 7:
					cmd = "r" + strconv.Itoa(i+1)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					seq, err := n.fwd.propose(context.Background(), "leader", []byte(cmd))
					out[i] = outcome{seq, err}
				}()
			}
			// Every commit is queued or in flight before the first call
			// is answered.
			for {
				n.fwd.mu.Lock()
				queued := len(n.fwd.pending) + n.fwd.inflight
				pending := len(n.fwd.pending)
				n.fwd.mu.Unlock()
				if pending > 0 && queued >= maxInflightForwards {
					break
				}
				runtime.Gosched()
			}
			close(fl.release)
			wg.Wait()
			for i, o := range out {
				switch i % 10 {
				case 3:
					var ce *storage.ConflictError
					if !errors.As(o.err, &ce) || ce.Conflict != 2 {
						t.Fatalf("commit %d: %d, %v; want its conflict", i, o.seq, o.err)
					}
				case 7:
					if !errors.Is(o.err, errNotLeader) {
						t.Fatalf("commit %d: %d, %v; want errNotLeader", i, o.seq, o.err)
					}
				default:
					if o.err != nil || o.seq != uint64(i+1) {
						t.Fatalf("commit %d: %d, %v; want seq %d", i, o.seq, o.err, i+1)
					}
				}
			}
			fl.mu.Lock()
			defer fl.mu.Unlock()
			if batching && fl.calls >= commits {
				t.Fatalf("%d calls for %d commits (sizes %v): none grouped", fl.calls, commits, fl.sizes)
			}
			if !batching && fl.calls != commits {
				t.Fatalf("%d Propose calls for %d commits; want one each from a leader without ProposeBatch", fl.calls, commits)
			}
		})
	}
}

// A batch with a follower's forwarded commits, when nothing follows it,
// is followed by a barrier: its AppendEntries tells the followers at once
// that the batch committed (else they learn it only after CommitTimeout).
// A batch of the leader's own commits is not.
func TestForwardedBatchNudgesFollowers(t *testing.T) {
	n, ctx := startGenesis(t)
	r := n.r()
	commit := func(key string) []byte {
		c := &commitCmd{ReadSeq: n.db.ReadSeq(), Time: 1, Principal: "p"}
		c.WS.Mutations = []storage.Mutation{{Key: []byte(key), Value: []byte("v")}}
		return encodeCommit(c)
	}
	// settled waits until no nudge is in flight and returns the last index.
	settled := func() uint64 {
		for {
			n.batch.mu.Lock()
			busy := n.batch.nudging || n.batch.inflight > 0
			n.batch.mu.Unlock()
			if !busy {
				return r.LastIndex()
			}
			if ctx.Err() != nil {
				t.Fatal("the batcher did not settle")
			}
			runtime.Gosched()
		}
	}
	last := settled()
	if _, err := n.batch.apply(commit("t/a")).result(); err != nil {
		t.Fatal(err)
	}
	if got := settled(); got != last+1 {
		t.Fatalf("a leader's own commit appended %d entries; want 1 (no nudge)", got-last)
	}
	last = r.LastIndex()
	if _, err := n.batch.applyForwarded([][]byte{commit("t/b")})[0].result(); err != nil {
		t.Fatal(err)
	}
	if got := settled(); got != last+2 {
		t.Fatalf("a forwarded commit appended %d entries; want 2 (the commit and the nudge's barrier)", got-last)
	}
}
