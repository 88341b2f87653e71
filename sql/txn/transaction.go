package txn

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/cofferdb/coffer/storage"
)

// Transaction is a snapshot at a read sequence plus a private write buffer.
// It implements go-mysql-server's sql.Transaction. A Transaction is used by
// one session at a time and is not safe for concurrent use.
type Transaction struct {
	id       uint64
	readSeq  uint64
	reader   Reader
	readOnly bool

	buf        buffer
	stmt       buffer // state at statement start, for DiscardChanges, if inStmt
	inStmt     bool
	savepoints []savepoint
	checks     [][]byte  // distinct; not modified (callers' keys, kept as given)
	checks1    [1][]byte // checks' first backing array: most transactions write one table
	system     bool      // the buffer holds system keyspace (catalog) writes
	// schemaEpoch counts catalog writes so caches built from this
	// transaction's view know when to rebuild.
	schemaEpoch uint64

	catalogCache any // the catalog as this transaction sees it, at cacheEpoch
	cacheEpoch   uint64

	kind string // ledger kind of the commit; "" derives it from the write set

	// Row locks (locks.go): the keys of the locks t holds, the table
	// holding them, and the lock t waits for (guarded by the table's mutex).
	locks     []string
	lockTable *LockTable
	waitingOn *rowLock
	// pins are keys read at a newer sequence than readSeq while a row is
	// written from its newest version; writeBase is that sequence, which
	// the keys written meanwhile are based on; based records that some
	// buffered write has a base.
	pins      map[string]uint64
	writeBase uint64
	based     bool
	// latestWrites: the transaction runs at READ COMMITTED (or READ
	// UNCOMMITTED): a locked row write reads the row's newest version
	// instead of failing when the row changed after the snapshot.
	latestWrites bool
	// observed records that the transaction read rows (anything outside
	// the system keyspace) from its snapshot: from then on the snapshot
	// is fixed (AdvanceSnapshot).
	observed bool
}

// LatestWrites reports whether a row write under a row lock reads the
// row's newest committed version (READ COMMITTED) rather than requiring
// that the row did not change after the snapshot (snapshot isolation,
// every other level).
func (t *Transaction) LatestWrites() bool { return t.latestWrites }

// SetKind sets the ledger kind the transaction commits as
// (ledger.KindGovernance for charter transactions).
func (t *Transaction) SetKind(kind string) { t.kind = kind }

type savepoint struct {
	name   string
	buf    buffer
	system bool
}

func newTransaction(id uint64, r Reader, readSeq uint64, readOnly bool) *Transaction {
	t := &Transaction{id: id, readSeq: readSeq, reader: r, readOnly: readOnly}
	t.checks = t.checks1[:0]
	return t
}

// String implements sql.Transaction.
func (t *Transaction) String() string { return fmt.Sprintf("coffer txn %d @%d", t.id, t.readSeq) }

// IsReadOnly implements sql.Transaction.
func (t *Transaction) IsReadOnly() bool { return t.readOnly }

// ReadSeq is the sequence of the snapshot the transaction reads.
func (t *Transaction) ReadSeq() uint64 { return t.readSeq }

// observe notes a read of key, or of the range [key, hi) when hi is not
// nil, from the snapshot. Reads of the system keyspace (the catalog) do
// not count: AdvanceSnapshot moves only past commits that left it alone.
func (t *Transaction) observe(key, hi []byte) {
	if t.observed {
		return
	}
	inSystem := len(key) > 0 && key[0] == 's'
	if hi != nil {
		inSystem = inSystem && len(hi) > 0 && (hi[0] == 's' || (hi[0] == 's'+1 && len(hi) == 1))
	}
	t.observed = !inSystem
}

// AdvanceSnapshot moves the transaction's snapshot to seq, later than the
// one it started with, if nothing can tell the difference: the
// transaction has read no rows and written nothing, and no commit after
// its snapshot and up to seq changed the system keyspace (systemSeq is
// the newest one that did), so the schema it resolved holds at seq too.
// A snapshot only has to be taken before the transaction's first read;
// MySQL takes it at the first read, not at BEGIN. It reports whether the
// snapshot moved.
//
// The row lock path uses it (engine.unchangedSince): a transaction whose
// first statement waited for a row's lock while another transaction
// changed the row would otherwise fail at once, under snapshot isolation,
// for a change it never saw.
func (t *Transaction) AdvanceSnapshot(seq, systemSeq uint64) bool {
	if t.observed || t.buf.len() > 0 || t.latestWrites || seq <= t.readSeq || systemSeq > t.readSeq {
		return false
	}
	t.readSeq = seq
	return true
}

// HasSystemWrites reports whether the transaction changed the system
// keyspace (the catalog); such a transaction reads its catalog from its own
// view instead of the shared cache.
func (t *Transaction) HasSystemWrites() bool { return t.system }

// SchemaEpoch changes whenever the transaction writes the system keyspace.
func (t *Transaction) SchemaEpoch() uint64 { return t.schemaEpoch }

// CatalogCache returns what SetCatalogCache stored, if the transaction has
// not written the system keyspace since.
func (t *Transaction) CatalogCache() (any, bool) {
	if t.catalogCache == nil || t.cacheEpoch != t.schemaEpoch {
		return nil, false
	}
	return t.catalogCache, true
}

// SetCatalogCache stores the catalog view built from this transaction.
func (t *Transaction) SetCatalogCache(v any) {
	t.catalogCache, t.cacheEpoch = v, t.schemaEpoch
}

// Dirty reports whether the transaction has buffered writes.
func (t *Transaction) Dirty() bool { return t.buf.len() > 0 }

// Get reads key through the buffer, then the snapshot.
func (t *Transaction) Get(key []byte) ([]byte, bool, error) {
	if e, ok := t.buf.get(key); ok {
		if e.delete {
			return nil, false, nil
		}
		return e.value, true, nil
	}
	return t.snapshotGet(key)
}

func (t *Transaction) snapshotGet(key []byte) ([]byte, bool, error) {
	t.observe(key, nil)
	if seq, ok := t.pins[string(key)]; ok {
		return t.reader.Get(key, seq)
	}
	return t.reader.Get(key, t.readSeq)
}

// Put buffers a new value for key. The transaction owns key and value
// from here on.
func (t *Transaction) Put(key, value []byte) {
	t.noteWrite(key)
	t.buf.put(key, bufEntry{value: value, base: t.baseOf(key)})
}

// Delete buffers the deletion of key.
func (t *Transaction) Delete(key []byte) {
	t.noteWrite(key)
	t.buf.put(key, bufEntry{delete: true, base: t.baseOf(key)})
}

// baseOf returns the base of a new write of key: a key keeps the base of
// its first write in the transaction (what it was computed from then is
// what later writes build on).
func (t *Transaction) baseOf(key []byte) uint64 {
	if !t.based && t.writeBase == 0 {
		return 0
	}
	if e, ok := t.buf.get(key); ok {
		return e.base
	}
	if t.writeBase != 0 {
		t.based = true
	}
	return t.writeBase
}

// Check records that the transaction depends on key not changing after its
// read sequence (a schema descriptor it wrote rows under).
// The key is kept, not copied: the caller must not modify it. A
// transaction checks a few keys (one per table it writes), each many
// times: a scan of a short list, without a map and a string per call.
func (t *Transaction) Check(key []byte) {
	for _, k := range t.checks {
		if bytes.Equal(k, key) {
			return
		}
	}
	t.checks = append(t.checks, key)
}

func (t *Transaction) noteWrite(key []byte) {
	if len(key) > 0 && key[0] == 's' {
		t.system = true
		t.schemaEpoch++
	}
}

// readBuf is what reads of the running statement see: the buffer as the
// statement began, so that a statement never reads rows it wrote itself
// (UPDATE … JOIN, INSERT … SELECT from the same table).
func (t *Transaction) readBuf() buffer {
	if t.inStmt {
		return t.stmt
	}
	return t.buf
}

// NewIter returns a merged iterator over [lo, hi): the snapshot overlaid
// with the buffered writes as the current statement began.
func (t *Transaction) NewIter(lo, hi []byte) (*Iter, error) {
	t.observe(lo, hi)
	it, err := t.reader.NewIter(lo, hi, t.readSeq)
	if err != nil {
		return nil, err
	}
	return &Iter{snap: it, buf: t.readBuf().rangeCopy(lo, hi)}, nil
}

// NewLiveIter is NewIter over the buffer as it is now, the current
// statement's writes included: the catalog reads its descriptors this way,
// since a DDL statement must see the schema it is changing.
func (t *Transaction) NewLiveIter(lo, hi []byte) (*Iter, error) {
	t.observe(lo, hi)
	it, err := t.reader.NewIter(lo, hi, t.readSeq)
	if err != nil {
		return nil, err
	}
	return &Iter{snap: it, buf: t.buf.rangeCopy(lo, hi)}, nil
}

// ReadGet reads key as the current statement's reads see it (see readBuf);
// Get sees the statement's own writes too, for key checks.
func (t *Transaction) ReadGet(key []byte) ([]byte, bool, error) {
	if e, ok := t.readBuf().get(key); ok {
		if e.delete {
			return nil, false, nil
		}
		return e.value, true, nil
	}
	return t.snapshotGet(key)
}

// WriteSet returns the buffered writes as a storage write set.
func (t *Transaction) WriteSet() *storage.WriteSet {
	a := &writeSetAlloc{}
	ws := &a.ws
	if n := t.buf.len(); n <= len(a.muts) {
		ws.Mutations = a.muts[:0]
	} else {
		ws.Mutations = make([]storage.Mutation, 0, n)
	}
	t.buf.ascend(func(k []byte, e bufEntry) bool {
		ws.Mutations = append(ws.Mutations, storage.Mutation{Key: k, Value: e.value, Delete: e.delete, Base: e.base})
		return true
	})
	switch {
	case len(t.checks) == 0:
	case len(t.checks) <= len(a.checks):
		ws.Checks = append(a.checks[:0], t.checks...)
	default:
		ws.Checks = append([][]byte(nil), t.checks...)
	}
	return ws
}

// writeSetAlloc makes a small transaction's write set (a single-row
// insert's: one row, one table check) one allocation instead of three.
type writeSetAlloc struct {
	ws     storage.WriteSet
	muts   [2]storage.Mutation
	checks [1][]byte
}

// StatementBegin marks the state a failing statement rolls back to. It
// reports whether it opened the statement (false: one was already open).
func (t *Transaction) StatementBegin() bool {
	if t.inStmt {
		return false
	}
	t.stmt, t.inStmt = t.buf.clone(), true
	return true
}

// StatementDiscard undoes the current statement's writes.
func (t *Transaction) StatementDiscard() {
	if t.inStmt {
		t.buf = t.stmt
		t.stmt, t.inStmt = buffer{}, false
		t.schemaEpoch++
	}
}

// StatementComplete keeps the current statement's writes.
func (t *Transaction) StatementComplete() { t.stmt, t.inStmt = buffer{}, false }

// CreateSavepoint records the buffer under name, replacing an older one of
// that name only (as MySQL does; later savepoints stay).
func (t *Transaction) CreateSavepoint(name string) {
	if i := t.findSavepoint(name); i >= 0 {
		t.savepoints = append(t.savepoints[:i], t.savepoints[i+1:]...)
	}
	t.savepoints = append(t.savepoints, savepoint{name: name, buf: t.buf.clone(), system: t.system})
}

// RollbackToSavepoint restores the buffer recorded under name and drops
// later savepoints.
func (t *Transaction) RollbackToSavepoint(name string) bool {
	i := t.findSavepoint(name)
	if i < 0 {
		return false
	}
	sp := t.savepoints[i]
	t.buf = sp.buf.clone()
	t.system = sp.system
	t.schemaEpoch++
	t.savepoints = t.savepoints[:i+1]
	return true
}

// ReleaseSavepoint forgets name and every later savepoint.
func (t *Transaction) ReleaseSavepoint(name string) bool {
	i := t.findSavepoint(name)
	if i < 0 {
		return false
	}
	t.savepoints = t.savepoints[:i]
	return true
}

func (t *Transaction) findSavepoint(name string) int {
	for i := len(t.savepoints) - 1; i >= 0; i-- {
		if strings.EqualFold(t.savepoints[i].name, name) {
			return i
		}
	}
	return -1
}
