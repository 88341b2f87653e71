package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
)

// EntryVersion is the entry format this build writes.
const EntryVersion = 1

// Hash is a SHA-256 digest.
type Hash [32]byte

// String returns the digest in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText implements encoding.TextMarshaler (hex).
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (hex).
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("ledger: hash must be 64 hex digits, got %d", len(b))
	}
	_, err := hex.Decode(h[:], b)
	return err
}

// Entry kinds.
const (
	KindData       = "data"       // rows only
	KindSchema     = "schema"     // the transaction changed the catalog or users
	KindGovernance = "governance" // charter proposals and ballots
)

// Entry is the ledger record of one committed transaction. It carries the
// hash of the write set, never the write set itself.
type Entry struct {
	Version      uint8  `json:"version"`
	Seq          uint64 `json:"seq"`
	PrevHash     Hash   `json:"prev_hash"`
	WriteSetHash Hash   `json:"write_set_hash"`
	Principal    string `json:"principal"`
	CommittedAt  int64  `json:"committed_at_unix_nano"`
	Kind         string `json:"kind"`
}

// ErrCorruptEntry reports an entry that does not decode.
var ErrCorruptEntry = errors.New("ledger: corrupt entry")

// Encode returns the canonical encoding: version, seq, prev hash, write set
// hash, commit time (big-endian), then kind and principal, each prefixed
// by a uvarint length.
func (e *Entry) Encode() []byte {
	b := make([]byte, 0, 1+8+32+32+8+2+len(e.Kind)+len(e.Principal))
	b = append(b, e.Version)
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = append(b, e.PrevHash[:]...)
	b = append(b, e.WriteSetHash[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.CommittedAt))
	b = binary.AppendUvarint(b, uint64(len(e.Kind)))
	b = append(b, e.Kind...)
	b = binary.AppendUvarint(b, uint64(len(e.Principal)))
	return append(b, e.Principal...)
}

// entryFixed is the length of an entry's fixed-size fields.
const entryFixed = 1 + 8 + 32 + 32 + 8

// splitEntry checks that b is a well-formed encoded entry and returns its
// kind and principal, which alias b.
func splitEntry(b []byte) (kind, principal []byte, ok bool) {
	if len(b) < entryFixed || b[0] != EntryVersion {
		return nil, nil, false
	}
	rest := b[entryFixed:]
	field := func() ([]byte, bool) {
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n {
			return nil, false
		}
		f := rest[k : k+int(n)]
		rest = rest[k+int(n):]
		return f, true
	}
	if kind, ok = field(); !ok {
		return nil, nil, false
	}
	if principal, ok = field(); !ok || len(rest) != 0 {
		return nil, nil, false
	}
	return kind, principal, true
}

// DecodeEntry decodes an entry encoded by Encode.
func DecodeEntry(b []byte) (*Entry, error) {
	kind, principal, ok := splitEntry(b)
	if !ok {
		return nil, ErrCorruptEntry
	}
	e := &Entry{Version: b[0], Seq: binary.BigEndian.Uint64(b[1:9]), Kind: string(kind), Principal: string(principal)}
	copy(e.PrevHash[:], b[9:41])
	copy(e.WriteSetHash[:], b[41:73])
	e.CommittedAt = int64(binary.BigEndian.Uint64(b[73:81]))
	return e, nil
}

// EntryLink is what chains an entry to its neighbours and to its write set.
type EntryLink struct {
	Seq          uint64
	PrevHash     Hash
	WriteSetHash Hash
}

// DecodeEntryLink checks an encoded entry exactly as DecodeEntry does and
// returns its link fields, without allocating: for verifiers that walk
// every entry.
func DecodeEntryLink(b []byte) (EntryLink, error) {
	var l EntryLink
	if _, _, ok := splitEntry(b); !ok {
		return l, ErrCorruptEntry
	}
	l.Seq = binary.BigEndian.Uint64(b[1:9])
	copy(l.PrevHash[:], b[9:41])
	copy(l.WriteSetHash[:], b[41:73])
	return l, nil
}

// LeafHash is the entry's hash: its Merkle leaf hash (RFC 9162: SHA-256 of
// 0x00 and the encoding), also the PrevHash of the next entry.
func (e *Entry) LeafHash() Hash { return LeafHash(e.Encode()) }

// LeafHash hashes an encoded entry as a Merkle leaf.
func LeafHash(enc []byte) Hash {
	// Entries are short: hash them from the stack, without allocating.
	var buf [256]byte
	if len(enc) < len(buf) {
		n := copy(buf[1:], enc)
		return sha256.Sum256(buf[:1+n])
	}
	h := sha256.New()
	h.Write([]byte{0x00})
	h.Write(enc)
	var out Hash
	h.Sum(out[:0])
	return out
}

// WriteSetHasher hashes a write set's mutations, fed in key order: each
// mutation as key length, key, operation byte, value length, value. The
// zero value is an empty hasher, ready to use.
type WriteSetHasher struct {
	h hash.Hash
	// scratch space the hash's Write and Sum see: an array on the stack
	// would escape to the heap through the interface at every call.
	buf [binary.MaxVarintLen64]byte
	sum []byte
}

// NewWriteSetHasher returns an empty hasher.
func NewWriteSetHasher() *WriteSetHasher { return &WriteSetHasher{h: sha256.New()} }

// Reset empties w for another write set.
func (w *WriteSetHasher) Reset() {
	if w.h != nil {
		w.h.Reset()
	}
}

// The operation bytes, as slices made once.
var (
	opDelete = []byte{0}
	opPut    = []byte{1}
)

// Add feeds one mutation.
func (w *WriteSetHasher) Add(key, value []byte, del bool) {
	if w.h == nil {
		w.h = sha256.New()
	}
	w.h.Write(w.buf[:binary.PutUvarint(w.buf[:], uint64(len(key)))])
	w.h.Write(key)
	if del {
		w.h.Write(opDelete)
		return
	}
	w.h.Write(opPut)
	w.h.Write(w.buf[:binary.PutUvarint(w.buf[:], uint64(len(value)))])
	w.h.Write(value)
}

// AppendMutation appends one mutation's encoding, as Add feeds it to the
// hash, to dst.
func AppendMutation(dst, key, value []byte, del bool) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	if del {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = binary.AppendUvarint(dst, uint64(len(value)))
	return append(dst, value...)
}

// AddEncoded feeds mutations encoded by AppendMutation: one Write instead
// of Add's five, from a buffer the caller reuses.
func (w *WriteSetHasher) AddEncoded(enc []byte) {
	if w.h == nil {
		w.h = sha256.New()
	}
	w.h.Write(enc)
}

// Sum returns the write set hash.
func (w *WriteSetHasher) Sum() Hash {
	if w.h == nil {
		return sha256.Sum256(nil)
	}
	w.sum = w.h.Sum(w.sum[:0])
	return Hash(w.sum)
}
