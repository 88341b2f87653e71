package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferdb/coffer/storage/ledger"
)

// TestTamperingIsDetectedAcrossBatches tampers with records far enough into
// a larger ledger that verification meets them in a later batch of each of
// its readers (entries, Merkle nodes, row versions), and with signatures
// after a good one by the same node, and checks that it names the right
// entry.
func TestTamperingIsDetectedAcrossBatches(t *testing.T) {
	t.Parallel()
	const n = 10000
	db, svc, base := ledgerFixture(t, n)
	var sizes []uint64
	if err := db.Signatures(func(s *ledger.SignedRoot) error { sizes = append(sizes, s.Size); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(sizes) < 2 || sizes[len(sizes)-1] != n {
		t.Fatalf("signatures at %v; want two or more, the last at %d", sizes, n)
	}
	db.Close()
	set := func(key, value []byte) func(*pebble.DB) error {
		return func(p *pebble.DB) error { return p.Set(key, value, pebble.Sync) }
	}
	flip := func(key []byte) func(*pebble.DB) error {
		return func(p *pebble.DB) error {
			v, closer, err := p.Get(key)
			if err != nil {
				return err
			}
			bad := append([]byte(nil), v...)
			closer.Close()
			bad[len(bad)/2] ^= 0x10
			return p.Set(key, bad, pebble.Sync)
		}
	}
	// resignLast replaces the newest signature's signature bytes.
	resignLast := func(change func(s *ledger.SignedRoot)) func(*pebble.DB) error {
		return func(p *pebble.DB) error {
			v, closer, err := p.Get(signatureKey(n))
			if err != nil {
				return err
			}
			s, err := ledger.DecodeSignedRoot(v)
			closer.Close()
			if err != nil {
				return err
			}
			change(s)
			return p.Set(signatureKey(n), s.Encode(), pebble.Sync)
		}
	}
	cases := []struct {
		name    string
		tamper  func(*pebble.DB) error
		wantSeq uint64
		reason  string
	}{
		{"entry", flip(entryKey(5000)), 5000, "altered entry"},
		{"entry that does not decode", set(entryKey(9000), []byte{1, 2, 3}), 9000, "does not decode"},
		{"missing entry", func(p *pebble.DB) error { return p.Delete(entryKey(7000), pebble.Sync) }, 7000, "entry missing"},
		{"lowest stored merkle node", flip(nodeKey(ledger.NodeID{Level: minStoredLevel, Index: 1023})), 8185, "does not match the entries"},
		{"merkle node", flip(nodeKey(ledger.NodeID{Level: 5, Index: 200})), 6401, "does not match the entries"},
		{"missing merkle node", func(p *pebble.DB) error { return p.Delete(nodeKey(ledger.NodeID{Level: 3, Index: 1125}), pebble.Sync) }, 9001, "missing"},
		{"extra merkle node", set(nodeKey(ledger.NodeID{Level: 3, Index: n / 8}), make([]byte, 32)), n + 1, "belongs to no entry"},
		{"row version", flip(appendVersion(nil, []byte("tk8999"), 9000)), 9000, "write set hash"},
		{"deleted row version", func(p *pebble.DB) error { return p.Delete(appendVersion(nil, []byte("tk6000"), 6001), pebble.Sync) }, 6001, "write set hash"},
		{"row version of no entry", set(appendVersion(nil, []byte("tk0001"), n+3), []byte{valTombstone}), n + 3, "belongs to no ledger entry"},
		{"signature bytes", resignLast(func(s *ledger.SignedRoot) { s.Signature[len(s.Signature)-1] ^= 1 }), n, "bad root signature"},
		{"signed root", resignLast(func(s *ledger.SignedRoot) { s.Root[0] ^= 1 }), n, "signed Merkle root"},
		{"signature by an unendorsed node", resignLast(func(s *ledger.SignedRoot) {
			rogueSvc, err := ledger.NewServiceIdentity("rogue")
			if err != nil {
				t.Fatal(err)
			}
			rogue, err := ledger.NewNodeIdentity("n1", rogueSvc)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ledger.SignRoot(rogue, s.Size, s.Root, s.SignedAt)
			if err != nil {
				t.Fatal(err)
			}
			*s = *r
		}), n, "not endorsed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			copyDir(t, base, dir)
			p, err := pebble.Open(dir, &pebble.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.tamper(p); err != nil {
				t.Fatal(err)
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			cfg := DefaultConfig(dir)
			cfg.VerifyOnly = true
			db, err := Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = db.VerifyLedger(svc.Cert, nil)
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("tampering not detected: %v", err)
			}
			if ve.Seq != c.wantSeq || !strings.Contains(ve.Reason, c.reason) {
				t.Fatalf("detected at seq %d (%s), want %d (%s)", ve.Seq, ve.Reason, c.wantSeq, c.reason)
			}
			// Verification stopped its readers: the store closes.
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// copyDir copies the files of a closed store.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
