package cluster

import (
	"context"
	"encoding/gob"
	"errors"
	"net"
	"net/rpc"
	"testing"
)

// echoService answers Propose with the command's length.
type echoService struct{}

func (echoService) Propose(a ProposeArgs, r *ProposeReply) error {
	r.Seq = uint64(len(a.Cmd))
	return nil
}

func TestPeerClientRoundTrip(t *testing.T) {
	srv := rpc.NewServer()
	if err := srv.RegisterName("Coffer", echoService{}); err != nil {
		t.Fatal(err)
	}
	cc, sc := net.Pipe()
	go srv.ServeConn(sc)
	p := newPeerClient(cc)
	defer p.close()
	var r ProposeReply
	if err := p.do(context.Background(), nil, "Propose", ProposeArgs{Cmd: []byte("abc")}, &r); err != nil {
		t.Fatal(err)
	}
	if r.Seq != 3 {
		t.Fatalf("reply %d, want 3", r.Seq)
	}
}

// A client whose connection broke while idle, and which another call has
// already closed, must report its calls as not sent: they may go again.
// (Before, a flag set by close made them "outcome unknown".)
func TestPeerClientBrokenIsNotSent(t *testing.T) {
	cc, sc := net.Pipe()
	p := newPeerClient(cc)
	_ = sc.Close() // the peer goes away while the client is idle
	var r ProposeReply
	err := p.do(context.Background(), nil, "Propose", ProposeArgs{Cmd: []byte("x")}, &r)
	if !errors.Is(err, errPeerUnreachable) {
		t.Fatalf("call on a broken connection = %v, want errPeerUnreachable", err)
	}
	p.close() // what Node.call does after a failure, racing other callers
	for i := range 3 {
		err := p.do(context.Background(), nil, "Propose", ProposeArgs{Cmd: []byte("x")}, &r)
		if !errors.Is(err, errNotSent) {
			t.Fatalf("call %d on a closed client = %v, want errNotSent", i, err)
		}
	}
}

// A call whose request the peer read before the connection broke may have
// taken effect: it is unreachable but not errNotSent.
func TestPeerClientCutAfterSendIsAmbiguous(t *testing.T) {
	cc, sc := net.Pipe()
	p := newPeerClient(cc)
	defer p.close()
	read := make(chan error, 1)
	go func() {
		dec := gob.NewDecoder(sc)
		var req rpc.Request
		var args ProposeArgs
		err := dec.Decode(&req)
		if err == nil {
			err = dec.Decode(&args)
		}
		_ = sc.Close()
		read <- err
	}()
	var r ProposeReply
	err := p.do(context.Background(), nil, "Propose", ProposeArgs{Cmd: []byte("x")}, &r)
	if rerr := <-read; rerr != nil {
		t.Fatalf("peer reading the request: %v", rerr)
	}
	if !errors.Is(err, errPeerUnreachable) || errors.Is(err, errNotSent) {
		t.Fatalf("call cut after it was sent = %v, want errPeerUnreachable without errNotSent", err)
	}
}
