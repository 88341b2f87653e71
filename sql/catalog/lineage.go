package catalog

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/cofferdb/coffer/storage"
)

// A table's rows can live under several names and storage ids over time:
// RENAME TABLE keeps the id under a new name, a rewriting ALTER or TRUNCATE
// keeps the name under a new id. Row policies name a table, so reads of
// the past (AS OF, the ledger's visibility check) must apply the policies
// of every name that ever shared storage with what they read; otherwise
// `SELECT … FROM old_name AS OF n` would read rows a policy on today's
// name protects.

// lineage is the tables' history as connected components over names
// (lower "db.table") and storage ids, and, for history views, which id
// each rewriting ALTER or TRUNCATE replaced.
type lineage struct {
	parent map[string]string
	descs  map[uint64]*tableDesc // one descriptor per id: its newest version (its schema, its last names)
	first  map[uint64]*tableDesc // the oldest version per id (the names its rows were written under first)
	seqs   map[uint64][2]uint64  // the seqs of the oldest and newest version per id
	prev   map[uint64]succession // id → the id it replaced
}

// succession says that a descriptor with a new id replaced one with id at
// seq (in the same transaction: a rewriting ALTER or a TRUNCATE).
type succession struct {
	id, seq uint64
}

func (l *lineage) find(x string) string {
	for l.parent[x] != x {
		l.parent[x] = l.parent[l.parent[x]]
		x = l.parent[x]
	}
	return x
}

func (l *lineage) add(x string) {
	if _, ok := l.parent[x]; !ok {
		l.parent[x] = x
	}
}

func (l *lineage) union(a, b string) {
	l.add(a)
	l.add(b)
	ra, rb := l.find(a), l.find(b)
	if ra != rb {
		l.parent[ra] = rb
	}
}

func idNode(id uint64) string      { return "i:" + strconv.FormatUint(id, 10) }
func nameNode(db, t string) string { return "n:" + strings.ToLower(db+"."+t) }

// loadLineage reads every version of every table descriptor up to head.
//
// A key whose consecutive versions hold two ids records a succession (a
// rewrite or a TRUNCATE keeps the name); a deletion between them (DROP,
// then CREATE) records none. An id that first appears at the seq at which
// a key holding another id was deleted, in a transaction that ended that
// id and created no other, replaced it under a new name (ALTER TABLE …
// RENAME TO …, plus a rewriting change, in one statement).
func (p *Provider) loadLineage(head uint64) (*lineage, error) {
	l := &lineage{
		parent: map[string]string{},
		descs:  map[uint64]*tableDesc{},
		first:  map[uint64]*tableDesc{},
		seqs:   map[uint64][2]uint64{},
		prev:   map[uint64]succession{},
	}
	var (
		curKey   []byte
		newer    *tableDesc // the newer version of curKey (nil: none, or a deletion)
		newerSeq uint64
		deleted  bool                    // the newer version of curKey was a deletion
		dropped  = map[uint64][]uint64{} // seq → ids whose key was deleted at seq
	)
	lo := storage.SystemPrefix(sysTable)
	err := p.db.Versions(lo, storage.PrefixEnd(lo), head, func(k []byte, seq uint64, v []byte) error {
		if !bytes.Equal(k, curKey) {
			curKey, newer, deleted = append(curKey[:0], k...), nil, false
		}
		if v == nil {
			newer, newerSeq, deleted = nil, seq, true
			return nil
		}
		d := &tableDesc{}
		if json.Unmarshal(v, d) != nil {
			newer, deleted = nil, false
			return nil
		}
		if deleted {
			dropped[newerSeq] = append(dropped[newerSeq], d.ID)
		}
		if newer != nil && newer.ID != d.ID {
			l.prev[newer.ID] = succession{id: d.ID, seq: newerSeq}
		}
		newer, newerSeq, deleted = d, seq, false
		l.union(idNode(d.ID), nameNode(d.Database, d.Name))
		s, ok := l.seqs[d.ID]
		if !ok || seq > s[1] {
			l.descs[d.ID], s[1] = d, seq
		}
		if !ok || seq < s[0] {
			l.first[d.ID], s[0] = d, seq
		}
		l.seqs[d.ID] = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Renamed and rewritten in one statement: the old key was deleted at
	// the seq the new id appeared under another key.
	for id, s := range l.seqs {
		if _, ok := l.prev[id]; ok {
			continue
		}
		var ended []uint64
		for _, old := range dropped[s[0]] {
			if old != id && l.seqs[old][1] < s[0] {
				ended = append(ended, old)
			}
		}
		if len(ended) != 1 {
			continue
		}
		created := 0
		for _, o := range l.seqs {
			if o[0] == s[0] {
				created++
			}
		}
		if created == 1 {
			l.prev[id] = succession{id: ended[0], seq: s[0]}
		}
	}
	return l, nil
}

// chain returns the storage ids whose rows are the history of id, oldest
// first, id last: each was replaced by the next one (rewrites and
// truncates; renames keep the id).
func (l *lineage) chain(id uint64) []uint64 {
	out := []uint64{id}
	seen := map[uint64]bool{id: true}
	for {
		s, ok := l.prev[out[0]]
		if !ok || seen[s.id] {
			break
		}
		seen[s.id] = true
		out = append([]uint64{s.id}, out...)
	}
	return out
}

// namesOf returns the lower "db.table" names in the component of id.
func (l *lineage) namesOf(id uint64) []string {
	root := l.find(idNode(id))
	var out []string
	for x := range l.parent {
		if strings.HasPrefix(x, "n:") && l.find(x) == root {
			out = append(out, x[2:])
		}
	}
	return out
}

// descsOf returns one descriptor per storage id in the component of the
// name db.table.
func (l *lineage) descsOf(name string) []*tableDesc {
	n := "n:" + name
	if _, ok := l.parent[n]; !ok {
		return nil
	}
	root := l.find(n)
	var out []*tableDesc
	for id, d := range l.descs {
		if l.find(idNode(id)) == root {
			out = append(out, d)
		}
	}
	return out
}
