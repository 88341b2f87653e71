package catalog

import (
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
// (lower "db.table") and storage ids.
type lineage struct {
	parent map[string]string
	descs  map[uint64]*tableDesc // one descriptor per id (its schema)
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
func (p *Provider) loadLineage(head uint64) (*lineage, error) {
	l := &lineage{parent: map[string]string{}, descs: map[uint64]*tableDesc{}}
	lo := storage.SystemPrefix(sysTable)
	err := p.db.Versions(lo, storage.PrefixEnd(lo), head, func(_ []byte, _ uint64, v []byte) error {
		if v == nil {
			return nil
		}
		d := &tableDesc{}
		if json.Unmarshal(v, d) != nil {
			return nil
		}
		l.union(idNode(d.ID), nameNode(d.Database, d.Name))
		if _, ok := l.descs[d.ID]; !ok {
			l.descs[d.ID] = d
		}
		return nil
	})
	return l, err
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
