package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferdb/coffer/storage/ledger"
)

// ledgerFixture is a store with n committed transactions and a signature
// covering all of them.
func ledgerFixture(t *testing.T, n int) (*DB, *ledger.Identity, string) {
	t.Helper()
	dir := t.TempDir()
	db := openTest(t, dir)
	svc, err := ledger.NewServiceIdentity("test")
	if err != nil {
		t.Fatal(err)
	}
	node, err := ledger.NewNodeIdentity("n1", svc)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.StartSigner(SignerConfig{Identity: node, Every: time.Hour, MaxUnsigned: 1 << 40}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		ws := &WriteSet{Mutations: []Mutation{
			put(fmt.Sprintf("tk%03d", i), fmt.Sprint("v", i)),
			put(fmt.Sprintf("ik%03d", i%7), "x"),
		}}
		if i%5 == 4 {
			ws.Mutations = append(ws.Mutations, Mutation{Key: []byte(fmt.Sprintf("tk%03d", i-1)), Delete: true})
		}
		if _, err := db.Apply(ws, db.ReadSeq(), Commit{Principal: "alice"}); err != nil {
			t.Fatal(err)
		}
		if i == n/2 && !db.WaitSigned(db.ReadSeq(), 5*time.Second) {
			t.Fatal("no signature")
		}
	}
	if !db.WaitSigned(db.ReadSeq(), 5*time.Second) {
		t.Fatal("no signature")
	}
	return db, svc, dir
}

func TestLedgerVerifiesAndReportsContentOnly(t *testing.T) {
	t.Parallel()
	db, svc, _ := ledgerFixture(t, 40)
	defer db.Close()
	r, err := db.VerifyLedger(svc.Cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Entries != 40 || r.Signatures != 2 {
		t.Fatalf("report %s", r)
	}
}

func TestReceiptsVerifyOffline(t *testing.T) {
	t.Parallel()
	db, svc, _ := ledgerFixture(t, 25)
	defer db.Close()
	for seq := uint64(1); seq <= 25; seq++ {
		rc, err := db.Receipt(seq)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(rc)
		var back ledger.Receipt
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		e, err := back.Verify(svc.Cert)
		if err != nil || e.Seq != seq {
			t.Fatalf("seq %d: %v", seq, err)
		}
	}
	rc, _ := db.Receipt(7)
	tampers := map[string]func(r *ledger.Receipt){
		"principal":    func(r *ledger.Receipt) { r.Entry.Principal = "mallory" },
		"write set":    func(r *ledger.Receipt) { r.Entry.WriteSetHash[3] ^= 1 },
		"time":         func(r *ledger.Receipt) { r.Entry.CommittedAt++ },
		"seq":          func(r *ledger.Receipt) { r.Entry.Seq++; r.LeafIndex++ },
		"proof":        func(r *ledger.Receipt) { r.Proof[0][0] ^= 1 },
		"root":         func(r *ledger.Receipt) { r.Signature.Root[5] ^= 1 },
		"signature":    func(r *ledger.Receipt) { r.Signature.Signature[10] ^= 1 },
		"tree size":    func(r *ledger.Receipt) { r.Signature.Size++ },
		"leaf hash":    func(r *ledger.Receipt) { r.LeafHash[0] ^= 1 },
		"unendorsed":   func(r *ledger.Receipt) { resign(t, r, nil) },
		"other svc":    func(r *ledger.Receipt) { other, _ := ledger.NewServiceIdentity("other"); resign(t, r, other) },
		"no proof":     func(r *ledger.Receipt) { r.Proof = nil },
		"no signature": func(r *ledger.Receipt) { r.Signature = nil },
	}
	for name, tamper := range tampers {
		t.Run(name, func(t *testing.T) {
			b, _ := json.Marshal(rc)
			var r ledger.Receipt
			_ = json.Unmarshal(b, &r)
			tamper(&r)
			if _, err := r.Verify(svc.Cert); err == nil {
				t.Fatal("tampered receipt verified")
			}
		})
	}
}

// resign signs the receipt's root with a node key endorsed by svc (or
// self-endorsed when svc is nil): valid signatures the service never
// endorsed.
func resign(t *testing.T, r *ledger.Receipt, svc *ledger.Identity) {
	t.Helper()
	if svc == nil {
		var err error
		if svc, err = ledger.NewServiceIdentity("rogue"); err != nil {
			t.Fatal(err)
		}
	}
	node, err := ledger.NewNodeIdentity("rogue", svc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.SignRoot(node, r.Signature.Size, r.Signature.Root, 1)
	if err != nil {
		t.Fatal(err)
	}
	r.Signature = s
}

// TestTamperingIsDetected flips one bit in every kind of stored record and
// checks that verification names the right entry.
func TestTamperingIsDetected(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		key     func() []byte
		wantSeq uint64
	}{
		{"row version", func() []byte { return appendVersion(nil, []byte("tk010"), 11) }, 11},
		{"index version", func() []byte { return appendVersion(nil, []byte("ik003"), 4) }, 4},
		{"current row", func() []byte { return appendCurrentKey(nil, []byte("tk010")) }, 11},
		{"current index entry", func() []byte { return appendCurrentKey(nil, []byte("ik003")) }, 25},
		{"current tombstone", func() []byte { return appendCurrentKey(nil, []byte("tk013")) }, 15},
		{"entry", func() []byte { return entryKey(9) }, 9},
		{"merkle node", func() []byte { return nodeKey(ledger.NodeID{Level: minStoredLevel, Index: 1}) }, 9},
		{"higher merkle node", func() []byte { return nodeKey(ledger.NodeID{Level: minStoredLevel + 1, Index: 0}) }, 1},
		{"signature", func() []byte { return signatureKey(30) }, 30},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db, svc, dir := ledgerFixture(t, 30)
			db.Close()
			flipValue(t, dir, c.key())
			db = openTest(t, dir)
			defer db.Close()
			_, err := db.VerifyLedger(svc.Cert, nil)
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("tampering not detected: %v", err)
			}
			if ve.Seq != c.wantSeq {
				t.Fatalf("detected at seq %d (%s), want %d", ve.Seq, ve.Reason, c.wantSeq)
			}
		})
	}
}

// TestCorruptHeadEntryIsReported: a store whose newest entry, or the head
// record that names that entry's hash, is damaged cannot commit, but
// opened for verification it names that entry instead of failing to open.
func TestCorruptHeadEntryIsReported(t *testing.T) {
	t.Parallel()
	for name, key := range map[string][]byte{"head entry": entryKey(30), "head record": metaHeadKey} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, svc, dir := ledgerFixture(t, 30)
			db.Close()
			flipValue(t, dir, key)
			cfg := DefaultConfig(dir)
			if _, err := Open(cfg); err == nil {
				t.Fatal("a store with a corrupt head opened for commits")
			}
			cfg.VerifyOnly = true
			db, err := Open(cfg)
			if err != nil {
				t.Fatalf("open for verification: %v", err)
			}
			defer db.Close()
			if _, err := db.Apply(&WriteSet{Mutations: []Mutation{put("tx", "1")}}, db.ReadSeq(), Commit{}); err == nil {
				t.Fatal("a verification-only store accepted a commit")
			}
			_, err = db.VerifyLedger(svc.Cert, nil)
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.Seq != 30 {
				t.Fatalf("VerifyLedger = %v; want a failure at seq 30", err)
			}
		})
	}
}

// TestLowMerkleNodesAreNotStored: commits store Merkle nodes from
// minStoredLevel up only; proofs and the tree's frontier recompute the
// lower ones from the entries, and the low nodes a format 4 store kept
// are not read (here, wrong ones: verification and receipts still pass).
func TestLowMerkleNodesAreNotStored(t *testing.T) {
	t.Parallel()
	db, svc, dir := ledgerFixture(t, 30)
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixNode}, UpperBound: []byte{prefixNode + 1}})
	if err != nil {
		t.Fatal(err)
	}
	levels := map[uint8]int{}
	for ok := it.First(); ok; ok = it.Next() {
		levels[it.Key()[1]]++
	}
	it.Close()
	// 30 leaves: 3 perfect subtrees of 8, 1 of 16.
	if want := map[uint8]int{3: 3, 4: 1}; fmt.Sprint(levels) != fmt.Sprint(want) {
		t.Fatalf("stored Merkle nodes per level %v, want %v", levels, want)
	}
	db.Close()

	p, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for l := uint8(0); l < minStoredLevel; l++ {
		for i := uint64(0); i < 30>>l; i++ {
			if err := p.Set(nodeKey(ledger.NodeID{Level: l, Index: i}), make([]byte, 32), pebble.Sync); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir) // the frontier (30 = 16+8+4+2) reloads from entries and stored nodes
	defer db.Close()
	if _, err := db.VerifyLedger(svc.Cert, nil); err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 30; seq++ {
		rc, err := db.Receipt(seq)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rc.Verify(svc.Cert); err != nil {
			t.Fatalf("receipt of %d: %v", seq, err)
		}
	}
	// The reloaded frontier is right: two more commits complete the
	// perfect subtree of 32 leaves, whose stored nodes of levels 3 to 5
	// must match the entries.
	for i := range 2 {
		if _, err := db.Apply(&WriteSet{Mutations: []Mutation{put(fmt.Sprint("tx", i), "1")}}, db.ReadSeq(), Commit{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.VerifyLedger(svc.Cert, nil); err != nil {
		t.Fatal(err)
	}
}

func flipValue(t *testing.T, dir string, key []byte) {
	t.Helper()
	p, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	v, closer, err := p.Get(key)
	if err != nil {
		t.Fatalf("key %x: %v", key, err)
	}
	bad := append([]byte(nil), v...)
	closer.Close()
	bad[len(bad)-1] ^= 0x01
	if err := p.Set(key, bad, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}
