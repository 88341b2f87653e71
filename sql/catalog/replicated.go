package catalog

import (
	"encoding/binary"

	"github.com/cofferdb/coffer/storage"
)

// ApplyCommitted runs apply, the replicated application of the commits
// whose write sets are wss, after moving the AUTO_INCREMENT counters past
// the values they write. A
// replicated node applies every commit through it, its own and the ones
// proposed through other nodes: counters live in memory per node (they are
// not transactional), and without it a node would hand out values another
// node already used. The counters move before the commit becomes visible,
// and no counter is created (by a scan) in between. Values handed out
// concurrently on two nodes still collide; the later commit then fails its
// conflict check and its (autocommit) statement is retried with a fresh
// value.
func (p *Provider) ApplyCommitted(wss []*storage.WriteSet, apply func() error) error {
	p.autoIncMu.Lock()
	defer p.autoIncMu.Unlock()
	var st *state // the committed schema, loaded once for all of wss
	for _, ws := range wss {
		st = p.noteCommitted(ws, st)
	}
	return apply()
}

// noteCommitted moves counters past the values ws writes; st is the
// committed schema if the caller has it, and it returns it if loaded.
func (p *Provider) noteCommitted(ws *storage.WriteSet, st *state) *state {
	for _, m := range ws.Mutations {
		if m.Delete || len(m.Key) < 9 || m.Key[0] != 't' {
			continue
		}
		id := binary.BigEndian.Uint64(m.Key[1:9])
		c, ok := p.autoInc.Load(id)
		if !ok {
			continue // no counter yet: it starts from a scan when first used
		}
		if st == nil {
			var err error
			if st, err = p.committedState(); err != nil {
				return nil
			}
		}
		d := st.byID[id]
		if d == nil {
			continue
		}
		col := d.autoIncColumn()
		if col < 0 {
			continue
		}
		cv, ok, err := decodeColumn(m.Value, col) // not the whole row: only this is needed
		if err != nil || !ok {
			continue
		}
		v, ok := toUint(nil, cv) // a stored integer: no context needed
		if !ok {
			continue
		}
		ac := c.(*autoIncCounter)
		ac.mu.Lock()
		if v >= ac.next {
			ac.next = v + 1
		}
		ac.mu.Unlock()
	}
	return st
}
