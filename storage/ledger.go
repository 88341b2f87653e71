package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cofferdb/coffer/storage/ledger"
)

// Ledger keyspaces, unversioned (the ledger is append-only by itself):
//
//	l<seq:8>                 ledger entry of the transaction with that sequence
//	n<level:1><index:8>      Merkle tree node (perfect subtree), level 0 = leaves
//	g<size:8>                signature entry over the root of the first size entries
const (
	prefixLedger    = 'l'
	prefixNode      = 'n'
	prefixSignature = 'g'
)

var (
	// ErrReceiptPending is returned for a committed transaction that no
	// signature covers yet; ask again after the next signature.
	ErrReceiptPending = errors.New("storage: receipt pending: no signature covers this transaction yet")
	// ErrNoEntry is returned for a sequence that has no ledger entry.
	ErrNoEntry = errors.New("storage: no ledger entry at this sequence")
)

func entryKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, 9), prefixLedger), seq)
}

func nodeKey(id ledger.NodeID) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, 10), prefixNode, id.Level), id.Index)
}

func signatureKey(size uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixSignature}, size)
}

// ledgerState is the ledger's in-memory head, guarded by DB.applyMu.
type ledgerState struct {
	tree     ledger.Tree
	lastHash ledger.Hash
}

// loadLedger restores the chain head and the tree frontier after open.
func (db *DB) loadLedger(head uint64) error {
	if head == 0 || db.cfg.UnsafeNoLedger {
		db.ledger = ledgerState{}
		return nil
	}
	v, closer, err := db.pdb.Get(entryKey(head))
	if err != nil {
		return fmt.Errorf("storage: ledger entry %d (the head): %w", head, err)
	}
	e, err := ledger.DecodeEntry(v)
	closer.Close()
	if err != nil {
		return fmt.Errorf("storage: ledger entry %d: %w", head, err)
	}
	// The head entry must match the hash the head record keeps of it, or
	// the next commit would chain onto a damaged entry.
	if leaf, ok, err := db.headLeaf(head); err != nil || ok && leaf != e.LeafHash() {
		return fmt.Errorf("storage: ledger entry %d (the head) does not match the head record: the store is damaged; run coffer ledger verify", head)
	}
	tree, err := ledger.Restore(head, db.node)
	if err != nil {
		return fmt.Errorf("storage: restore Merkle tree: %w", err)
	}
	db.ledger = ledgerState{tree: *tree, lastHash: e.LeafHash()}
	return nil
}

// minStoredLevel is the lowest level of Merkle nodes a commit stores.
// Nodes below it, perfect subtrees of at most 4 leaves, are recomputed
// from the entries when a proof or the tree's frontier needs them
// (node). Storing every node put about two node keys beside each entry;
// from level 3 up it is about a quarter of one, so a commit writes
// roughly 2.25 keys instead of 4 for a single-row insert.
const minStoredLevel = 3

// node returns the Merkle node id: stored, or recomputed from the
// entries below minStoredLevel.
func (db *DB) node(id ledger.NodeID) (ledger.Hash, error) {
	if id.Level < minStoredLevel {
		return db.entryNode(id)
	}
	return db.storedNode(id)
}

// entryNode computes the Merkle node id from its leaves' entries.
func (db *DB) entryNode(id ledger.NodeID) (ledger.Hash, error) {
	var hs [1 << (minStoredLevel - 1)]ledger.Hash
	n := uint64(1) << id.Level
	if n > uint64(len(hs)) {
		return ledger.Hash{}, fmt.Errorf("storage: Merkle node %d/%d is stored, not computed", id.Level, id.Index)
	}
	first := id.Index<<id.Level + 1 // the sequence of its first leaf
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: entryKey(first), UpperBound: entryKey(first + n)})
	if err != nil {
		return ledger.Hash{}, err
	}
	defer it.Close()
	k := uint64(0)
	for ok := it.First(); ok && k < n; ok = it.Next() {
		if !bytes.Equal(it.Key(), entryKey(first+k)) {
			break
		}
		hs[k] = ledger.LeafHash(it.Value())
		k++
	}
	if err := it.Error(); err != nil {
		return ledger.Hash{}, err
	}
	if k != n {
		return ledger.Hash{}, fmt.Errorf("storage: Merkle node %d/%d: ledger entry %d missing", id.Level, id.Index, first+k)
	}
	for ; n > 1; n /= 2 {
		for i := uint64(0); i < n/2; i++ {
			hs[i] = ledger.NodeHash(hs[2*i], hs[2*i+1])
		}
	}
	return hs[0], nil
}

// storedNode reads the stored Merkle node id.
func (db *DB) storedNode(id ledger.NodeID) (ledger.Hash, error) {
	var h ledger.Hash
	v, closer, err := db.pdb.Get(nodeKey(id))
	if err != nil {
		return h, fmt.Errorf("storage: Merkle node %d/%d: %w", id.Level, id.Index, err)
	}
	defer closer.Close()
	if len(v) != len(h) {
		return h, fmt.Errorf("storage: Merkle node %d/%d: corrupt", id.Level, id.Index)
	}
	copy(h[:], v)
	return h, nil
}

// sortMutations puts a write set in key order, the order its hash uses.
func sortMutations(ws *WriteSet) {
	if sort.SliceIsSorted(ws.Mutations, func(i, j int) bool {
		return bytes.Compare(ws.Mutations[i].Key, ws.Mutations[j].Key) < 0
	}) {
		return
	}
	sort.SliceStable(ws.Mutations, func(i, j int) bool {
		return bytes.Compare(ws.Mutations[i].Key, ws.Mutations[j].Key) < 0
	})
}

// hashWriteSet is the write set hash of a sorted write set.
func hashWriteSet(ws *WriteSet) ledger.Hash {
	h := hashers.Get().(*ledger.WriteSetHasher)
	defer hashers.Put(h)
	h.Reset()
	for _, m := range ws.Mutations {
		h.Add(m.Key, m.Value, m.Delete)
	}
	return h.Sum()
}

// hashers are write set hashers for reuse: commits hash their write sets
// concurrently, before the lock that orders them.
var hashers = sync.Pool{New: func() any { return ledger.NewWriteSetHasher() }}

// appendEntry adds seq's ledger entry, chained onto the ledger state prev,
// and the Merkle nodes it completes to b, returning the ledger state to
// keep once b is applied.
func appendEntry(b *sortedBatch, prev ledgerState, wsHash ledger.Hash, seq uint64, c Commit) ledgerState {
	e := ledger.Entry{
		Version: ledger.EntryVersion, Seq: seq, PrevHash: prev.lastHash, WriteSetHash: wsHash,
		Principal: c.Principal, CommittedAt: c.Time, Kind: c.Kind,
	}
	enc := e.Encode()
	b.Set(entryKey(seq), enc)
	next := prev
	leaf := ledger.LeafHash(enc)
	next.tree.Append(leaf, func(id ledger.NodeID, hash ledger.Hash) {
		if id.Level >= minStoredLevel {
			b.Set(nodeKey(id), hash[:])
		}
	})
	next.lastHash = leaf
	return next
}

// Entry returns the ledger entry of seq.
func (db *DB) Entry(seq uint64) (*ledger.Entry, error) {
	v, closer, err := db.pdb.Get(entryKey(seq))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("%w: %d", ErrNoEntry, seq)
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return ledger.DecodeEntry(v)
}

// Receipt builds the receipt of seq from the first signature covering it.
func (db *DB) Receipt(seq uint64) (*ledger.Receipt, error) {
	if seq == 0 || seq > db.ReadSeq() {
		return nil, fmt.Errorf("%w: %d", ErrNoEntry, seq)
	}
	e, err := db.Entry(seq)
	if err != nil {
		return nil, err
	}
	sig, err := db.signatureCovering(seq)
	if err != nil {
		return nil, err
	}
	proof, err := ledger.InclusionProof(seq-1, sig.Size, db.node)
	if err != nil {
		return nil, err
	}
	return &ledger.Receipt{Version: 1, Entry: *e, LeafHash: e.LeafHash(), LeafIndex: seq - 1, Proof: proof, Signature: sig}, nil
}

func (db *DB) signatureCovering(seq uint64) (*ledger.SignedRoot, error) {
	// Only durable signatures (SignedSize is announced after the sync).
	lo, hi := signatureKey(seq), signatureKey(db.SignedSize()+1)
	if bytes.Compare(lo, hi) >= 0 {
		return nil, ErrReceiptPending
	}
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.First() {
		if err := it.Error(); err != nil {
			return nil, err
		}
		return nil, ErrReceiptPending
	}
	return ledger.DecodeSignedRoot(it.Value())
}

// newestSignatureSize returns the size the newest signature entry is
// stored under (its contents are checked by VerifyLedger, not here).
func (db *DB) newestSignatureSize() (uint64, error) {
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixSignature}, UpperBound: []byte{prefixSignature + 1}})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.Last() {
		return 0, it.Error()
	}
	if len(it.Key()) != 9 {
		return 0, fmt.Errorf("storage: corrupt signature key %x", it.Key())
	}
	return binary.BigEndian.Uint64(it.Key()[1:]), nil
}

// Signatures calls fn for each signature entry in size order.
func (db *DB) Signatures(fn func(*ledger.SignedRoot) error) error {
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixSignature}, UpperBound: []byte{prefixSignature + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		size := binary.BigEndian.Uint64(it.Key()[1:])
		s, err := ledger.DecodeSignedRoot(it.Value())
		if err != nil {
			return &VerifyError{Seq: size, Reason: "signature entry does not decode: " + err.Error()}
		}
		if s.Size != size {
			return &VerifyError{Seq: size, Reason: fmt.Sprintf("signature entry stored at size %d claims size %d", size, s.Size)}
		}
		if err := fn(s); err != nil {
			return err
		}
	}
	return it.Error()
}

// Entries calls fn for each ledger entry from seq from on, in order.
func (db *DB) Entries(from uint64, fn func(enc []byte, e *ledger.Entry) error) error {
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: entryKey(from), UpperBound: []byte{prefixLedger + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		e, err := ledger.DecodeEntry(it.Value())
		if err != nil {
			return fmt.Errorf("ledger entry %x: %w", it.Key(), err)
		}
		if err := fn(it.Value(), e); err != nil {
			return err
		}
	}
	return it.Error()
}

// SignerConfig says how often the node signs the Merkle root.
type SignerConfig struct {
	Identity *ledger.Identity
	// Every is the longest an entry waits for a signature.
	Every time.Duration
	// MaxUnsigned triggers a signature as soon as that many entries wait.
	MaxUnsigned uint64
	// Active, if set, says whether this node signs now (the Raft leader
	// only); nil means always.
	Active func() bool
	// Publish, if set, stores a signature through replication (which calls
	// StoreSignature on every node); nil stores it locally.
	Publish func(*ledger.SignedRoot) error
}

// signer signs the root whenever entries are waiting and Every has passed
// or MaxUnsigned entries are waiting.
type signer struct {
	cfg  SignerConfig
	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// StartSigner begins signing roots with cfg.Identity.
func (db *DB) StartSigner(cfg SignerConfig) error {
	if cfg.Identity == nil {
		return errors.New("storage: signer needs an identity")
	}
	if cfg.Every <= 0 {
		cfg.Every = 50 * time.Millisecond
	}
	if cfg.MaxUnsigned == 0 {
		cfg.MaxUnsigned = 1000
	}
	s := &signer{cfg: cfg, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	db.signer.Store(s)
	go db.signLoop(s)
	return nil
}

func (db *DB) signLoop(s *signer) {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			if s.cfg.Publish == nil {
				_ = db.signNow(s)
			}
			return
		case <-t.C:
		case <-s.kick:
		}
		if err := db.signNow(s); err != nil && !db.closed.Load() {
			db.log.Error("ledger: signing the Merkle root failed", "err", err)
		}
	}
}

// signNow signs the newest durable root if it is not signed yet.
func (db *DB) signNow(s *signer) error {
	if s.cfg.Active != nil && !s.cfg.Active() {
		return nil
	}
	db.applyMu.Lock()
	size, root := db.ledger.tree.Size(), db.ledger.tree.Root()
	db.applyMu.Unlock()
	// Only durable entries are signed: wait until the tree's last entry is
	// published (visible means synced).
	if size == 0 || size > db.ReadSeq() || size <= db.SignedSize() {
		return nil
	}
	sig, err := ledger.SignRoot(s.cfg.Identity, size, root, time.Now().UnixNano())
	if err != nil {
		return err
	}
	if s.cfg.Publish != nil {
		return s.cfg.Publish(sig)
	}
	return db.StoreSignature(sig, 0)
}

// StoreSignature writes a signature entry (durably; a replicated one on
// a NoSync store is durable in the raft log) and wakes receipt waiters.
// Replication calls it on every node with the log index of the
// signature; signatures for a size already signed are ignored.
func (db *DB) StoreSignature(sig *ledger.SignedRoot, raftIndex uint64) error {
	b, sync, err := db.applySignature(sig, raftIndex)
	if err != nil {
		return err
	}
	defer b.Close()
	// Commits go on while the signature's WAL sync completes (it is
	// queued behind them, like a commit); it is announced once durable.
	if sync {
		if err := b.SyncWait(); err != nil {
			return err
		}
	}
	db.sigMu.Lock()
	if sig.Size > db.signed {
		db.signed = sig.Size
	}
	db.sigCond.Broadcast()
	db.sigMu.Unlock()
	return nil
}

// applySignature writes sig's batch under applyMu; sync reports that the
// caller must wait for its WAL sync.
func (db *DB) applySignature(sig *ledger.SignedRoot, raftIndex uint64) (_ *pebble.Batch, sync bool, err error) {
	db.applyMu.Lock()
	defer db.applyMu.Unlock()
	if db.closed.Load() {
		return nil, false, ErrClosed
	}
	if db.stateErr != nil {
		return nil, false, fmt.Errorf("storage: opened for verification only: %w", db.stateErr)
	}
	if sig.Size > db.applied.Load() {
		return nil, false, fmt.Errorf("storage: signature over %d entries, but only %d are applied", sig.Size, db.applied.Load())
	}
	b := db.pdb.NewBatch()
	if sig.Size > db.SignedSize() {
		if err := b.Set(signatureKey(sig.Size), sig.Encode(), nil); err != nil {
			b.Close()
			return nil, false, err
		}
	}
	if raftIndex > 0 {
		if err := b.Set(metaRaftKey, binary.BigEndian.AppendUint64(nil, raftIndex), nil); err != nil {
			b.Close()
			return nil, false, err
		}
	}
	// A replicated signature on a store that applies without fsync
	// (Config.NoSync, as replication opens it) is durable in the raft log
	// already: like a replicated commit, it is replayed from there if the
	// store lost it, since raftIndex is in the same batch.
	switch {
	case raftIndex > 0 && db.cfg.NoSync:
		err = db.pdb.Apply(b, pebble.NoSync)
	case db.cfg.NoWAL:
		// Not replicated, on a store without a WAL: durable once flushed.
		err = db.applyDurable(b)
	default:
		sync = true
		err = db.pdb.ApplyNoSyncWait(b, pebble.Sync)
	}
	if err != nil {
		b.Close()
		return nil, false, err
	}
	if raftIndex > 0 {
		db.raftIndex.Store(raftIndex)
	}
	return b, sync, nil
}

// SignedSize returns the size of the newest stored signature.
func (db *DB) SignedSize() uint64 {
	db.sigMu.Lock()
	defer db.sigMu.Unlock()
	return db.signed
}

// noteCommit wakes the signer when enough entries wait.
func (db *DB) noteCommit(seq uint64) {
	s := db.signer.Load()
	if s == nil {
		return
	}
	if seq-db.SignedSize() >= s.cfg.MaxUnsigned {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// WaitSigned waits until a signature covers seq or timeout passes.
func (db *DB) WaitSigned(seq uint64, timeout time.Duration) bool {
	if s := db.signer.Load(); s != nil {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	deadline := time.Now().Add(timeout)
	t := time.AfterFunc(timeout, func() { db.sigMu.Lock(); db.sigCond.Broadcast(); db.sigMu.Unlock() })
	defer t.Stop()
	db.sigMu.Lock()
	defer db.sigMu.Unlock()
	for db.signed < seq && time.Now().Before(deadline) {
		db.sigCond.Wait()
	}
	return db.signed >= seq
}

func (db *DB) stopSigner() {
	if s := db.signer.Load(); s != nil {
		close(s.stop)
		<-s.done
	}
}
