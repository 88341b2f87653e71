package storage

import (
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferdb/coffer/storage/ledger"
)

// VerifyReport summarizes a verified ledger. Its String depends only on
// the ledger's content, so two replicas' reports compare equal.
type VerifyReport struct {
	Entries    uint64
	Signatures int
	Head       ledger.Hash // hash of the last entry
	Root       ledger.Hash // Merkle root over all entries
}

func (r *VerifyReport) String() string {
	return fmt.Sprintf("verified %d entries, %d signatures, head %s", r.Entries, r.Signatures, r.Head)
}

// VerifyError names the first ledger entry (or signature) that failed.
type VerifyError struct {
	Seq    uint64
	Reason string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("ledger verification failed at seq %d: %s", e.Seq, e.Reason)
}

// VerifyLedger checks the whole ledger: the hash chain, every stored Merkle
// node, every signature (and, when service is given, that the service
// endorsed the signing node), and that the row versions stored at each
// sequence hash to the entry's write set hash. progress, if set, is called
// with the number of entries checked.
func (db *DB) VerifyLedger(service *x509.Certificate, progress func(done, total uint64)) (*VerifyReport, error) {
	head := db.AppliedSeq()
	sigs := map[uint64]*ledger.SignedRoot{}
	if err := db.Signatures(func(s *ledger.SignedRoot) error { sigs[s.Size] = s; return nil }); err != nil {
		return nil, err
	}
	// Three readers run at once: the chain (entries, leaf hashes, roots,
	// signatures) in this goroutine, the stored Merkle nodes, compared
	// with the nodes the chain's tree computes as it grows, and the row
	// versions, rehashed per sequence.
	type versions struct {
		got []ledger.Hash
		err error
	}
	vc := make(chan versions, 1)
	go func() { got, err := db.hashVersions(head); vc <- versions{got, err} }()
	nodes := make(chan []emittedNode, 8)
	nc := make(chan error, 1)
	go func() { nc <- db.checkNodes(nodes) }()
	wsHashes, report, err := db.verifyChain(head, sigs, service, progress, nodes)
	close(nodes)
	nerr := <-nc
	v := <-vc
	if err != nil {
		return nil, err
	}
	if nerr != nil {
		return nil, nerr
	}
	if v.err != nil {
		return nil, v.err
	}
	for i := range wsHashes {
		if v.got[i] != wsHashes[i] {
			return nil, &VerifyError{Seq: uint64(i) + 1, Reason: "stored row versions do not match the entry's write set hash"}
		}
	}
	return report, nil
}

// emittedNode is a Merkle node the verifier's tree computed.
type emittedNode struct {
	id   ledger.NodeID
	hash ledger.Hash
}

// checkNodes compares the stored Merkle nodes, level by level in index
// order, with the nodes the verifier computes (sent in batches, in the
// order the tree completes them: per level, increasing index). After the
// last batch every level must be exhausted. It drains nodes even after a
// mismatch, so the sender never blocks.
func (db *DB) checkNodes(nodes <-chan []emittedNode) error {
	var iters []*pebble.Iterator
	defer func() {
		for _, it := range iters {
			if it != nil {
				it.Close()
			}
		}
	}()
	var failed error
	fail := func(id ledger.NodeID, reason string) {
		if failed == nil {
			failed = &VerifyError{Seq: id.Index<<id.Level + 1, Reason: fmt.Sprintf("%s %d/%d", reason, id.Level, id.Index)}
		}
	}
	level := func(l uint8) (*pebble.Iterator, error) {
		for int(l) >= len(iters) {
			iters = append(iters, nil)
		}
		if iters[l] == nil {
			it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixNode, l}, UpperBound: []byte{prefixNode, l + 1}})
			if err != nil {
				return nil, err
			}
			it.First()
			iters[l] = it
		}
		return iters[l], nil
	}
	for batch := range nodes {
		if failed != nil {
			continue
		}
		for _, n := range batch {
			it, err := level(n.id.Level)
			if err != nil {
				failed = err
				break
			}
			if !it.Valid() {
				fail(n.id, "Merkle node missing:")
				break
			}
			if string(it.Key()) != string(nodeKey(n.id)) {
				fail(n.id, "Merkle node missing or misplaced:")
				break
			}
			if string(it.Value()) != string(n.hash[:]) {
				fail(n.id, "stored Merkle node does not match the entries:")
				break
			}
			it.Next()
		}
	}
	if failed != nil {
		return failed
	}
	// Nodes stored beyond what the entries produce belong to no entry.
	for l := 0; l < 64; l++ {
		it, err := level(uint8(l))
		if err != nil {
			return err
		}
		if err := it.Error(); err != nil {
			return err
		}
		if it.Valid() {
			idx := binary.BigEndian.Uint64(it.Key()[2:])
			return &VerifyError{Seq: idx<<l + 1, Reason: fmt.Sprintf("stored Merkle node %d/%d belongs to no entry", l, idx)}
		}
	}
	return nil
}

// verifyChain walks the entries in order: sequence numbers, versions, the
// previous-hash chain, and the Merkle root at each signed size.
func (db *DB) verifyChain(head uint64, sigs map[uint64]*ledger.SignedRoot, service *x509.Certificate, progress func(uint64, uint64), nodes chan<- []emittedNode) ([]ledger.Hash, *VerifyReport, error) {
	wsHashes := make([]ledger.Hash, 0, head)
	var tree ledger.Tree
	emitted := make([]emittedNode, 0, 8192)
	emit := func(id ledger.NodeID, h ledger.Hash) { emitted = append(emitted, emittedNode{id, h}) }
	var prev ledger.Hash
	checked := 0
	done := make(chan struct{})
	defer close(done)
	for batch := range parallelLeafHashes(db, head, done) {
		for _, item := range batch {
			if item.err != nil {
				return nil, nil, item.err
			}
			e, leaf := item.entry, item.leaf
			want := uint64(len(wsHashes)) + 1
			if e.Seq != want {
				return nil, nil, &VerifyError{Seq: want, Reason: fmt.Sprintf("entry missing (found seq %d next)", e.Seq)}
			}
			if e.PrevHash != prev {
				// Either this entry's link or the previous entry was altered:
				// the stored Merkle leaf of the previous entry tells which.
				if stored, err := db.node(ledger.NodeID{Level: 0, Index: e.Seq - 2}); e.Seq > 1 && (err != nil || stored != prev) {
					return nil, nil, &VerifyError{Seq: e.Seq - 1, Reason: "entry does not match its Merkle leaf (altered entry)"}
				}
				return nil, nil, &VerifyError{Seq: e.Seq, Reason: "previous-entry hash does not match the chain"}
			}
			prev = leaf
			wsHashes = append(wsHashes, e.WriteSetHash)
			tree.Append(leaf, emit)
			if len(emitted) >= 4096 {
				nodes <- emitted
				emitted = make([]emittedNode, 0, 8192)
			}
			if s, ok := sigs[tree.Size()]; ok {
				if s.Root != tree.Root() {
					return nil, nil, &VerifyError{Seq: e.Seq, Reason: "signed Merkle root does not match the entries"}
				}
				if err := s.Verify(service); err != nil {
					return nil, nil, &VerifyError{Seq: e.Seq, Reason: err.Error()}
				}
				checked++
			}
			if progress != nil && e.Seq%100000 == 0 {
				progress(e.Seq, head)
			}
		}
	}
	if len(emitted) > 0 {
		nodes <- emitted
	}
	if uint64(len(wsHashes)) != head {
		return nil, nil, &VerifyError{Seq: uint64(len(wsHashes)) + 1, Reason: fmt.Sprintf("entry missing: head is %d", head)}
	}
	if checked != len(sigs) {
		for size := range sigs {
			if size > head {
				return nil, nil, &VerifyError{Seq: size, Reason: "signature over entries that do not exist"}
			}
		}
	}
	return wsHashes, &VerifyReport{Entries: head, Signatures: len(sigs), Head: prev, Root: tree.Root()}, nil
}

type hashedEntry struct {
	entry *ledger.Entry
	leaf  ledger.Hash
	err   error
}

// parallelLeafHashes decodes and hashes entries on every core, delivering
// them in sequence order.
//
// Closing done stops it early: its goroutines then exit and close their
// pebble iterator (DB.Close panics while one is open).
func parallelLeafHashes(db *DB, head uint64, done <-chan struct{}) <-chan []hashedEntry {
	const chunk = 4096
	type batch struct {
		first uint64 // seq of encs[0], by position: what a bad entry should have been
		encs  [][]byte
		out   chan []hashedEntry
	}
	jobs := make(chan batch, runtime.GOMAXPROCS(0)*2)
	order := make(chan chan []hashedEntry, runtime.GOMAXPROCS(0)*2)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				res := make([]hashedEntry, len(b.encs))
				for i, enc := range b.encs {
					e, err := ledger.DecodeEntry(enc)
					if err != nil {
						res[i] = hashedEntry{err: &VerifyError{Seq: b.first + uint64(i), Reason: "entry does not decode: " + err.Error()}}
						continue
					}
					res[i] = hashedEntry{entry: e, leaf: ledger.LeafHash(enc)}
				}
				b.out <- res
			}
		}()
	}
	go func() {
		defer close(order)
		defer close(jobs)
		it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixLedger}, UpperBound: []byte{prefixLedger + 1}})
		if err != nil {
			ch := make(chan []hashedEntry, 1)
			ch <- []hashedEntry{{err: err}}
			order <- ch
			return
		}
		defer it.Close()
		next := uint64(1)
		cur := make([][]byte, 0, chunk)
		arena := make([]byte, 0, chunk*128)
		flush := func() bool {
			ch := make(chan []hashedEntry, 1)
			select {
			case order <- ch:
			case <-done:
				return false
			}
			jobs <- batch{first: next, encs: cur, out: ch}
			next += uint64(len(cur))
			cur = make([][]byte, 0, chunk)
			arena = make([]byte, 0, chunk*128)
			return true
		}
		for ok := it.First(); ok; ok = it.Next() {
			n := len(arena)
			arena = append(arena, it.Value()...)
			cur = append(cur, arena[n:len(arena):len(arena)])
			if len(cur) == chunk && !flush() {
				return
			}
		}
		if len(cur) > 0 {
			flush()
		}
	}()
	out := make(chan []hashedEntry, 4)
	go func() {
		defer close(out)
		defer wg.Wait()
		for ch := range order {
			select {
			case out <- <-ch:
			case <-done:
			}
		}
	}()
	return out
}

// hashVersions rehashes the stored row, index and system versions of
// every sequence, returning the write set hash of each.
func (db *DB) hashVersions(head uint64) ([]ledger.Hash, error) {
	hashers := make([]*ledger.WriteSetHasher, head+1)
	for _, space := range []byte{prefixIndex, prefixSystem, prefixTable} {
		it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{space}, UpperBound: []byte{space + 1}})
		if err != nil {
			return nil, err
		}
		for ok := it.First(); ok; ok = it.Next() {
			u, seq, vok := splitVersion(it.Key())
			v := it.Value()
			if !vok || len(v) == 0 || seq == 0 || seq > head {
				it.Close()
				return nil, &VerifyError{Seq: seq, Reason: fmt.Sprintf("stored version %x belongs to no ledger entry", it.Key())}
			}
			h := hashers[seq]
			if h == nil {
				h = ledger.NewWriteSetHasher()
				hashers[seq] = h
			}
			h.Add(u, v[1:], v[0] == valTombstone)
		}
		err = it.Error()
		it.Close()
		if err != nil {
			return nil, err
		}
	}
	empty := ledger.NewWriteSetHasher().Sum()
	out := make([]ledger.Hash, head)
	for seq := uint64(1); seq <= head; seq++ {
		out[seq-1] = empty
		if h := hashers[seq]; h != nil {
			out[seq-1] = h.Sum()
		}
	}
	return out, nil
}
