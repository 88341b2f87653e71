package storage

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"
)

// TestApplyBatchDecidesAsApply: a stream of proposals — random keys, read
// sequences that lag the head by a random amount, so that some conflict
// with commits of the same batch and some read past them — is applied one
// by one with Apply on one store and in random chunks with ApplyBatch on
// another. Every outcome, the ledger and every key at every sequence agree.
func TestApplyBatchDecidesAsApply(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(11))
	one := openTest(t, t.TempDir())
	defer one.Close()
	many := openTest(t, t.TempDir())
	defer many.Close()
	keys := make([]string, 12)
	for i := range keys {
		keys[i] = fmt.Sprintf("tk%02d", i)
	}
	proposal := func(n int, head uint64) Proposal {
		ws := &WriteSet{}
		for _, i := range rng.Perm(len(keys))[:1+rng.Intn(3)] {
			if rng.Intn(4) == 0 {
				ws.Mutations = append(ws.Mutations, Mutation{Key: []byte(keys[i]), Delete: true})
			} else {
				ws.Mutations = append(ws.Mutations, put(keys[i], fmt.Sprint("v", n)))
			}
		}
		if rng.Intn(5) == 0 {
			ws.Checks = append(ws.Checks, []byte("s"+keys[rng.Intn(len(keys))]))
		}
		// Read sequences up to 8 past the head: proposals made on a
		// node that had seen commits still in this batch.
		read := head + uint64(rng.Intn(9))
		if d := uint64(rng.Intn(6)); d <= read {
			read -= d
		}
		return Proposal{WS: ws, ReadSeq: read, Commit: Commit{Principal: "p", Time: int64(1000 + n)}}
	}
	clone := func(p Proposal) Proposal {
		ws := &WriteSet{Checks: p.WS.Checks}
		ws.Mutations = append(ws.Mutations, p.WS.Mutations...)
		p.WS = ws
		return p
	}
	n, conflicts, batched := 0, 0, 0
	for n < 600 {
		chunk := make([]Proposal, 1+rng.Intn(12))
		for i := range chunk {
			chunk[i] = proposal(n, many.AppliedSeq())
			n++
		}
		want := make([]Outcome, len(chunk))
		for i, p := range chunk {
			p = clone(p)
			want[i].Seq, want[i].Err = one.Apply(p.WS, p.ReadSeq, p.Commit)
		}
		got, err := many.ApplyBatch(chunk)
		if err != nil {
			t.Fatal(err)
		}
		for i := range chunk {
			if got[i].Seq != want[i].Seq || errors.Is(got[i].Err, ErrConflict) != errors.Is(want[i].Err, ErrConflict) {
				t.Fatalf("proposal %d of a batch of %d: ApplyBatch %d %v, Apply %d %v", i, len(chunk), got[i].Seq, got[i].Err, want[i].Seq, want[i].Err)
			}
			if want[i].Err != nil && !errors.Is(want[i].Err, ErrConflict) {
				t.Fatal(want[i].Err)
			}
			if want[i].Err != nil {
				conflicts++
			}
		}
		if len(chunk) > 1 {
			batched++
		}
	}
	if conflicts < 50 || conflicts > 500 {
		t.Fatalf("%d conflicts in %d proposals: the test does not exercise both outcomes", conflicts, n)
	}
	head := one.AppliedSeq()
	if many.AppliedSeq() != head || many.ReadSeq() != head {
		t.Fatalf("heads %d/%d, want %d", many.AppliedSeq(), many.ReadSeq(), head)
	}
	for seq := uint64(0); seq <= head; seq++ {
		for _, k := range keys {
			v1, ok1, err1 := one.Get([]byte(k), seq)
			v2, ok2, err2 := many.Get([]byte(k), seq)
			if err1 != nil || err2 != nil || ok1 != ok2 || string(v1) != string(v2) {
				t.Fatalf("%s @%d: Apply %q %v %v, ApplyBatch %q %v %v", k, seq, v1, ok1, err1, v2, ok2, err2)
			}
		}
		if seq == 0 {
			continue
		}
		e1, err1 := one.Entry(seq)
		e2, err2 := many.Entry(seq)
		if err1 != nil || err2 != nil || e1.LeafHash() != e2.LeafHash() {
			t.Fatalf("ledger entry %d differs: %v %v", seq, err1, err2)
		}
	}
	for _, db := range []*DB{one, many} {
		if _, err := db.VerifyLedger(nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d proposals, %d conflicts, %d batches of more than one", n, conflicts, batched)
}
