package charter

import "github.com/cofferdb/coffer/storage"

// Store is the transactional key-value view the charter reads and writes:
// in Coffer a transaction over the system keyspace.
type Store interface {
	Get(key []byte) ([]byte, bool, error)
	Put(key, value []byte)
	Delete(key []byte)
	// Scan calls fn for every key with the prefix, in key order.
	Scan(prefix []byte, fn func(key, value []byte) error) error
}

// System keyspace names of the charter. Records are JSON: small, rare to
// change, and worth reading in a dump.
const (
	keyHead         = "charter/head"
	keyConstitution = "charter/constitution"
	prefixMember    = "charter/member/"
	prefixUser      = "charter/user/"
	prefixRole      = "charter/role/"
	prefixCode      = "charter/code/"
	prefixNode      = "charter/node/"
	prefixPolicy    = "charter/policy/"
	prefixProposal  = "charter/proposal/"
)

func key(name string) []byte { return storage.SystemKey(name) }

func prefix(name string) []byte { return storage.SystemPrefix(name) }

// HeadKey is the key every charter transaction writes, so that two charter
// transactions never commit concurrently (first committer wins).
func HeadKey() []byte { return key(keyHead) }

// SnapshotStore reads the charter straight from storage at a sequence, for
// code outside a transaction (the cluster's admission checks). Writes
// panic: the charter changes only in transactions.
type SnapshotStore struct {
	DB  *storage.DB
	Seq uint64
}

// Get implements Store.
func (s SnapshotStore) Get(k []byte) ([]byte, bool, error) { return s.DB.Get(k, s.Seq) }

// Put implements Store; it panics.
func (s SnapshotStore) Put(_, _ []byte) { panic("charter: SnapshotStore is read-only") }

// Delete implements Store; it panics.
func (s SnapshotStore) Delete(_ []byte) { panic("charter: SnapshotStore is read-only") }

// Scan implements Store.
func (s SnapshotStore) Scan(p []byte, fn func(k, v []byte) error) error {
	it, err := s.DB.NewIter(p, storage.PrefixEnd(p), s.Seq)
	if err != nil {
		return err
	}
	return ScanIter(it, fn)
}

// Iterator is the shape of storage's and a transaction's iterators.
type Iterator interface {
	First() bool
	Next() bool
	Key() []byte
	Value() []byte
	Error() error
	Close() error
}

// ScanIter calls fn for every entry of it, then closes it: the body of a
// Store's Scan.
func ScanIter(it Iterator, fn func(k, v []byte) error) error {
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}
