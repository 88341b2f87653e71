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
