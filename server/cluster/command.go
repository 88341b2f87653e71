package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/cofferdb/coffer/storage"
	"github.com/cofferdb/coffer/storage/ledger"
)

// Replicated log commands. Each raft log entry of type LogCommand holds one:
// a version byte, a type byte, then the body. Version 2 adds a mutation
// flag (based) followed by the mutation's base sequence; a commit is
// written as version 2 only when one of its mutations has a base, so
// builds that read version 1 only still read every other entry.
const (
	cmdVersion   = 1
	cmdVersion2  = 2
	cmdCommit    = 1 // a transaction's write set: storage.Apply on every node
	cmdSignature = 2 // a signed Merkle root: storage.StoreSignature on every node
	cmdBatch     = 3 // commit commands appended together (batch.go)
)

// commitCmd is a transaction as proposed: everything storage.Apply needs,
// fixed by the proposer so that every node writes the same entry.
type commitCmd struct {
	ReadSeq   uint64
	Time      int64
	Principal string
	Kind      string
	WS        storage.WriteSet
}

// Mutation flags in a commit command.
const (
	mutDelete = 1 << 0
	mutBased  = 1 << 1 // version 2: a base sequence follows
)

var errBadCommand = errors.New("cluster: malformed log command")

func encodeCommit(c *commitCmd) []byte {
	n := 32 + len(c.Principal) + len(c.Kind)
	for _, m := range c.WS.Mutations {
		n += len(m.Key) + len(m.Value) + 12
	}
	for _, k := range c.WS.Checks {
		n += len(k) + 6
	}
	version := byte(cmdVersion)
	for _, m := range c.WS.Mutations {
		if m.Base != 0 {
			version = cmdVersion2
			n += 10 * len(c.WS.Mutations)
			break
		}
	}
	b := make([]byte, 0, n)
	b = append(b, version, cmdCommit)
	b = binary.AppendUvarint(b, c.ReadSeq)
	b = binary.AppendVarint(b, c.Time)
	b = appendBytes(b, []byte(c.Principal))
	b = appendBytes(b, []byte(c.Kind))
	b = binary.AppendUvarint(b, uint64(len(c.WS.Mutations)))
	for _, m := range c.WS.Mutations {
		var flags byte
		if m.Delete {
			flags |= mutDelete
		}
		if m.Base != 0 {
			flags |= mutBased
		}
		b = append(b, flags)
		b = appendBytes(b, m.Key)
		if !m.Delete {
			b = appendBytes(b, m.Value)
		}
		if m.Base != 0 {
			b = binary.AppendUvarint(b, m.Base)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(c.WS.Checks)))
	for _, k := range c.WS.Checks {
		b = appendBytes(b, k)
	}
	return b
}

func encodeSignature(s *ledger.SignedRoot) []byte {
	return append([]byte{cmdVersion, cmdSignature}, s.Encode()...)
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// isCommit reports whether cmd is a commit command, the kind the
// batcher groups and followers forward in batches.
func isCommit(cmd []byte) bool { return len(cmd) > 1 && cmd[1] == cmdCommit }

// commandType returns the command's type and body.
func commandType(b []byte) (byte, []byte, error) {
	if len(b) < 2 {
		return 0, nil, errBadCommand
	}
	if b[0] != cmdVersion && b[0] != cmdVersion2 {
		return 0, nil, fmt.Errorf("%w: version %d (this build reads %d and %d)", errBadCommand, b[0], cmdVersion, cmdVersion2)
	}
	return b[1], b[2:], nil
}

// decoder reads a command body; the first error sticks. Decoded byte
// slices alias the input.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errBadCommand
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errBadCommand
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errBadCommand
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errBadCommand
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// interned holds the principals and kinds of decoded commits: a few
// distinct strings, each decoded at every commit on every node.
var interned struct {
	sync.Mutex
	m map[string]string
}

// maxInterned bounds interned (principals carry the client's host).
const maxInterned = 4096

// intern returns b as a string, the same string for the same bytes.
func intern(b []byte) string {
	interned.Lock()
	defer interned.Unlock()
	if s, ok := interned.m[string(b)]; ok {
		return s
	}
	if interned.m == nil || len(interned.m) >= maxInterned {
		interned.m = make(map[string]string)
	}
	s := string(b)
	interned.m[s] = s
	return s
}

func decodeCommit(body []byte) (*commitCmd, error) {
	d := &decoder{b: body}
	c := &commitCmd{ReadSeq: d.uvarint(), Time: d.varint()}
	c.Principal = intern(d.bytes())
	c.Kind = intern(d.bytes())
	n := d.uvarint()
	if n > uint64(len(body)) {
		return nil, errBadCommand
	}
	c.WS.Mutations = make([]storage.Mutation, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		flags := d.byte()
		if flags&^(mutDelete|mutBased) != 0 {
			d.err = errBadCommand
			break
		}
		m := storage.Mutation{Key: d.bytes(), Delete: flags&mutDelete != 0}
		if !m.Delete {
			m.Value = d.bytes()
		}
		if flags&mutBased != 0 {
			m.Base = d.uvarint()
		}
		c.WS.Mutations = append(c.WS.Mutations, m)
	}
	n = d.uvarint()
	if n > uint64(len(body)) {
		return nil, errBadCommand
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		c.WS.Checks = append(c.WS.Checks, d.bytes())
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = errBadCommand
	}
	if d.err != nil {
		return nil, d.err
	}
	return c, nil
}
