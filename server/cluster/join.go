package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"

	"github.com/cofferdb/coffer/storage"
	"github.com/cofferdb/coffer/storage/ledger"
)

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
