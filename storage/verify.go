package storage

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferdb/coffer/storage/ledger"
)

// VerifyCacheSize is the block cache to open a store with for verification
// alone (coffer ledger verify). Verification reads every block once, so a
// cache as large as the default only fills fresh memory — a third of a CPU
// second of page faults for a million entries with 256 MiB — while a
// small one recycles its buffers.
const VerifyCacheSize = 32 << 20

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
	// versions, rehashed per sequence. Work moves between them in batches
	// that are handed back for reuse, so the walk allocates little.
	type versions struct {
		got     []ledger.Hash
		current error // the current keyspace differs from the newest versions
		err     error
	}
	var stop atomic.Bool // set when the chain failed: the row versions need not be read to the end
	vc := make(chan versions, 1)
	go func() { got, current, err := db.hashVersions(head, &stop); vc <- versions{got, current, err} }()
	nodes := make(chan []emittedNode, nodeBatches)
	spare := make(chan []emittedNode, nodeBatches+2)
	nc := make(chan error, 1)
	go func() { nc <- db.checkNodes(nodes, spare) }()
	wsHashes, report, err := db.verifyChain(head, sigs, service, progress, nodes, spare)
	close(nodes)
	if err != nil {
		stop.Store(true)
	}
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
	if v.current != nil {
		return nil, v.current
	}
	return report, nil
}

// emittedNode is a Merkle node the verifier's tree computed.
type emittedNode struct {
	id   ledger.NodeID
	hash ledger.Hash
}

const (
	nodeBatch   = 4096 // emitted nodes per batch sent to checkNodes
	nodeBatches = 8    // batches in flight
)

// checkNodes compares the stored Merkle nodes, level by level in index
// order, with the nodes the verifier computes (sent in batches, in the
// order the tree completes them: per level, increasing index). After the
// last batch every level must be exhausted. It drains nodes even after a
// mismatch, so the sender never blocks, and hands each batch back on spare
// (when there is room) for reuse.
func (db *DB) checkNodes(nodes <-chan []emittedNode, spare chan<- []emittedNode) error {
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
		for _, n := range batch {
			if failed != nil {
				break
			}
			if n.id.Level < minStoredLevel {
				// Not stored (a format 4 store has them, unused).
				continue
			}
			it, err := level(n.id.Level)
			if err != nil {
				failed = err
				break
			}
			if !it.Valid() {
				fail(n.id, "Merkle node missing:")
				break
			}
			// The key must be nodeKey(n.id), compared without building it.
			if k := it.Key(); len(k) != 2+8 || k[0] != prefixNode || k[1] != n.id.Level || binary.BigEndian.Uint64(k[2:]) != n.id.Index {
				fail(n.id, "Merkle node missing or misplaced:")
				break
			}
			if !bytes.Equal(it.Value(), n.hash[:]) {
				fail(n.id, "stored Merkle node does not match the entries:")
				break
			}
			it.Next()
		}
		select {
		case spare <- batch[:0]:
		default:
		}
	}
	if failed != nil {
		return failed
	}
	// Nodes stored beyond what the entries produce belong to no entry.
	for l := minStoredLevel; l < 64; l++ {
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
// previous-hash chain, and the Merkle root at each signed size. It sends
// the nodes its tree completes to nodes, in batches, taking empty batches
// from spare when there are any.
func (db *DB) verifyChain(head uint64, sigs map[uint64]*ledger.SignedRoot, service *x509.Certificate, progress func(uint64, uint64), nodes chan<- []emittedNode, spare <-chan []emittedNode) ([]ledger.Hash, *VerifyReport, error) {
	wsHashes := make([]ledger.Hash, 0, head)
	var tree ledger.Tree
	emitted := make([]emittedNode, 0, nodeBatch)
	emit := func(id ledger.NodeID, h ledger.Hash) { emitted = append(emitted, emittedNode{id, h}) }
	signatures := ledger.NewRootVerifier(service)
	var prev ledger.Hash
	checked := 0
	leaves := startLeafHashes(db)
	defer leaves.stop()
	for {
		b := leaves.next()
		if b == nil {
			break
		}
		for i := range b.res {
			e, leaf := &b.res[i].link, b.res[i].leaf
			want := uint64(len(wsHashes)) + 1
			if e.Seq != want {
				return nil, nil, &VerifyError{Seq: want, Reason: fmt.Sprintf("entry missing (found seq %d next)", e.Seq)}
			}
			if e.PrevHash != prev {
				// Either the previous entry or this one (its link) was
				// altered. This one is intact if what follows it, the next
				// entry's link or the head record, names its hash.
				if e.Seq > 1 && db.chainedOnto(e.Seq, head, leaf) {
					return nil, nil, &VerifyError{Seq: e.Seq - 1, Reason: "entry does not match the hash the next entry chains onto (altered entry)"}
				}
				return nil, nil, &VerifyError{Seq: e.Seq, Reason: "previous-entry hash does not match the chain"}
			}
			prev = leaf
			wsHashes = append(wsHashes, e.WriteSetHash)
			tree.Append(leaf, emit)
			if len(emitted) > nodeBatch-64 { // an append emits at most 64 nodes
				nodes <- emitted
				select {
				case emitted = <-spare:
				default:
					emitted = make([]emittedNode, 0, nodeBatch)
				}
			}
			if s, ok := sigs[tree.Size()]; ok {
				if s.Root != tree.Root() {
					return nil, nil, &VerifyError{Seq: e.Seq, Reason: "signed Merkle root does not match the entries"}
				}
				if err := signatures.Verify(s); err != nil {
					return nil, nil, &VerifyError{Seq: e.Seq, Reason: err.Error()}
				}
				checked++
			}
			if progress != nil && e.Seq%100000 == 0 {
				progress(e.Seq, head)
			}
		}
		if b.bad != nil {
			return nil, nil, b.bad
		}
		leaves.release(b)
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
	// The head record names the last entry's hash (format 5): an altered
	// head entry that no signature covers yet shows there.
	if leaf, ok, err := db.headLeaf(head); err != nil {
		return nil, nil, err
	} else if ok && head > 0 && leaf != prev {
		return nil, nil, &VerifyError{Seq: head, Reason: "entry does not match the head record (altered entry)"}
	}
	return wsHashes, &VerifyReport{Entries: head, Signatures: len(sigs), Head: prev, Root: tree.Root()}, nil
}

// chainedOnto reports whether the store names leaf as the hash of the
// entry at seq apart from the entry itself: the next entry's link, or for
// the head, the head record (headLeaf).
func (db *DB) chainedOnto(seq, head uint64, leaf ledger.Hash) bool {
	if seq < head {
		next, err := db.Entry(seq + 1)
		return err == nil && next.PrevHash == leaf
	}
	h, ok, err := db.headLeaf(head)
	return err == nil && ok && h == leaf
}

// leafBatch is a run of consecutive stored entries, copied out of pebble
// back to back, and what the hashing workers made of them.
type leafBatch struct {
	first uint64 // seq of the first entry, by position: what a bad entry should have been
	buf   []byte // the encoded entries
	ends  []int  // end of each entry in buf
	res   []hashedEntry
	bad   error         // the first entry that does not decode (res stops before it), else the reader's error
	ready chan struct{} // a worker has filled res
}

type hashedEntry struct {
	link ledger.EntryLink
	leaf ledger.Hash
}

const leafBatchLen = 4096 // entries per leafBatch

// leafHashes decodes and hashes entries on every core, delivering them in
// sequence order: one goroutine reads the entries into batches, workers
// hash them, and the caller takes the batches in order with next and hands
// each back with release.
type leafHashes struct {
	order chan *leafBatch // batches in sequence order, as the reader filled them
	free  chan *leafBatch // batches to fill
	done  chan struct{}   // closed by stop
	quit  sync.WaitGroup  // the reader and the workers
}

// startLeafHashes starts reading the ledger's entries. The caller must call
// stop, which waits until the reader has closed its pebble iterator
// (DB.Close panics while one is open).
func startLeafHashes(db *DB) *leafHashes {
	procs := runtime.GOMAXPROCS(0)
	n := 2*procs + 2
	l := &leafHashes{
		order: make(chan *leafBatch, n),
		free:  make(chan *leafBatch, n),
		done:  make(chan struct{}),
	}
	for range n {
		l.free <- &leafBatch{
			buf:   make([]byte, 0, leafBatchLen*128),
			ends:  make([]int, 0, leafBatchLen),
			res:   make([]hashedEntry, 0, leafBatchLen),
			ready: make(chan struct{}, 1),
		}
	}
	jobs := make(chan *leafBatch, n) // never full: there are n batches
	for range procs {
		l.quit.Add(1)
		go func() {
			defer l.quit.Done()
			for b := range jobs {
				b.hash()
				b.ready <- struct{}{}
			}
		}()
	}
	l.quit.Add(1)
	go func() {
		defer l.quit.Done()
		defer close(l.order)
		defer close(jobs)
		next := uint64(1)
		take := func() *leafBatch {
			select {
			case b := <-l.free:
				b.first, b.buf, b.ends, b.res, b.bad = next, b.buf[:0], b.ends[:0], b.res[:0], nil
				return b
			case <-l.done:
				return nil
			}
		}
		send := func(b *leafBatch) bool {
			select {
			case l.order <- b:
			case <-l.done:
				return false
			}
			jobs <- b
			next += uint64(len(b.ends))
			return true
		}
		b := take()
		if b == nil {
			return
		}
		it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixLedger}, UpperBound: []byte{prefixLedger + 1}})
		if err != nil {
			b.bad = err
			send(b)
			return
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			b.buf = append(b.buf, it.Value()...)
			b.ends = append(b.ends, len(b.buf))
			if len(b.ends) == leafBatchLen {
				if !send(b) {
					return
				}
				if b = take(); b == nil {
					return
				}
			}
		}
		if err := it.Error(); err != nil {
			b.bad = &VerifyError{Seq: next + uint64(len(b.ends)), Reason: "entries unreadable: " + err.Error()}
		}
		if len(b.ends) > 0 || b.bad != nil {
			send(b)
		}
	}()
	return l
}

// hash decodes and hashes the batch's entries into res, stopping at the
// first that does not decode.
func (b *leafBatch) hash() {
	start := 0
	for i, end := range b.ends {
		enc := b.buf[start:end]
		start = end
		link, err := ledger.DecodeEntryLink(enc)
		if err != nil {
			b.bad = &VerifyError{Seq: b.first + uint64(i), Reason: "entry does not decode: " + err.Error()}
			return
		}
		b.res = append(b.res, hashedEntry{link: link, leaf: ledger.LeafHash(enc)})
	}
}

// next returns the next batch in sequence order, hashed, or nil after the
// last.
func (l *leafHashes) next() *leafBatch {
	b, ok := <-l.order
	if !ok {
		return nil
	}
	<-b.ready
	return b
}

// release hands a batch next returned back for reuse.
func (l *leafHashes) release(b *leafBatch) { l.free <- b }

// stop ends the reading early if it is not done, and waits for the reader
// and the workers to exit.
func (l *leafHashes) stop() {
	close(l.done)
	l.quit.Wait()
}

// hashVersions rehashes the stored row, index and system versions of
// every sequence, returning the write set hash of each. It also checks the
// current keyspace against the newest versions (current.go); the first
// difference is returned as current, after the hashes, so that a damaged
// version is reported as the write set hash it breaks. It gives up early,
// returning nil and no error, once stop is set.
func (db *DB) hashVersions(head uint64, stop *atomic.Bool) (hashes []ledger.Hash, current, err error) {
	hashers := make([]ledger.WriteSetHasher, head+1)
	var enc []byte  // one mutation, encoded for its hasher
	var last []byte // the user key whose versions are being read
	for _, space := range versionedSpaces {
		it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{space}, UpperBound: []byte{space + 1}})
		if err != nil {
			return nil, nil, err
		}
		cc, err := db.newCurrentChecker(space)
		if err != nil {
			it.Close()
			return nil, nil, err
		}
		last = last[:0]
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			u, seq, vok := splitVersion(it.Key())
			v := it.Value()
			if !vok || len(v) == 0 || seq == 0 || seq > head {
				// The message before Close: pebble reuses a closed
				// iterator's memory for the next one.
				err := &VerifyError{Seq: seq, Reason: fmt.Sprintf("stored version %x belongs to no ledger entry", it.Key())}
				it.Close()
				_ = cc.done()
				return nil, nil, err
			}
			if current == nil && !db.format2 && (n == 0 || !bytes.Equal(u, last)) {
				last = append(last[:0], u...)
				current = cc.newest(u, seq, v)
			}
			enc = ledger.AppendMutation(enc[:0], u, v[1:], v[0] == valTombstone)
			hashers[seq].AddEncoded(enc)
			if n++; n%65536 == 0 && stop.Load() {
				it.Close()
				_ = cc.done()
				return nil, nil, nil
			}
		}
		err = it.Error()
		it.Close()
		if cerr := cc.done(); current == nil && !db.format2 {
			current = cerr
		}
		if err != nil {
			return nil, nil, err
		}
	}
	out := make([]ledger.Hash, head)
	for seq := uint64(1); seq <= head; seq++ {
		out[seq-1] = hashers[seq].Sum()
	}
	return out, current, nil
}
