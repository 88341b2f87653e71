package catalog

import (
	"bytes"

	gmssql "github.com/dolthub/go-mysql-server/sql"

	"github.com/cofferdb/coffer/sql/policy"
	"github.com/cofferdb/coffer/storage"
)

// Which ledger transactions a principal may see (coffer_ledger.transactions
// and coffer_receipt): its own, and every transaction all of whose row
// versions in tables with row policies — the values written and, for
// updates and deletes, the values replaced — pass the principal's SELECT
// policies of that table. Writes to tables without policies and to the
// system keyspace (DDL, governance) are public, like the charter. A
// transaction is hidden as a whole: its hash, time and committer included.
//
// The check reads every version of every policied table (under each
// storage id it has had, through renames and rewrites: lineage.go), so it costs a scan of those tables'
// history; principals whose policies let them see everything (an
// auditor) skip it.

// hiddenTransactions returns the sequences at or below head that ctx's
// principal may not see (nil: none), and the principal's name.
func (p *Provider) hiddenTransactions(ctx *gmssql.Context, head uint64) (map[uint64]bool, string, error) {
	st, _, err := p.stateFor(ctx)
	if err != nil {
		return nil, "", err
	}
	pr := p.principal(ctx, st)
	if len(st.policies) == 0 {
		return nil, pr.Name, nil
	}
	hidden := map[uint64]bool{}
	l, err := p.loadLineage(head)
	if err != nil {
		return nil, "", err
	}
	for name, ps := range st.policies {
		for _, d := range l.descsOf(name) {
			sch, err := d.Schema()
			if err != nil {
				continue
			}
			pt := p.policyCache.Table(name, ps, st.policyKeys[name], sch.Schema, policy.SchemaKey(sch.Schema))
			f := pt.Read(pr, policy.Select)
			if f.AllowsAll() {
				continue
			}
			if err := p.markHidden(d, f, head, hidden); err != nil {
				return nil, "", err
			}
		}
	}
	return hidden, pr.Name, nil
}

// markHidden adds to hidden the sequences that wrote a version of d's rows
// f does not let through (the value written, or the value replaced).
func (p *Provider) markHidden(d *tableDesc, f *policy.Filter, head uint64, hidden map[uint64]bool) error {
	width := len(d.Columns)
	allowed := func(v []byte) bool {
		if v == nil {
			return true
		}
		r, err := decodeRow(v, width)
		return err == nil && f.Allow(r)
	}
	var cur []byte
	var pendingSeq uint64 // the newer version of cur, whose before image is the next one
	havePending := false
	lo := storage.TablePrefix(d.ID)
	return p.db.Versions(lo, storage.PrefixEnd(lo), head, func(k []byte, seq uint64, v []byte) error {
		if !bytes.Equal(k, cur) {
			cur = append(cur[:0], k...)
			havePending = false
		}
		ok := allowed(v)
		if !ok {
			hidden[seq] = true
			if havePending {
				hidden[pendingSeq] = true // it replaced this hidden value
			}
		}
		pendingSeq, havePending = seq, true
		return nil
	})
}

// MaySeeTransaction reports whether ctx's principal may see the ledger
// transaction seq (its entry and receipt); see hiddenTransactions.
func (p *Provider) MaySeeTransaction(ctx *gmssql.Context, seq uint64, committer string) (bool, error) {
	hidden, name, err := p.hiddenTransactions(ctx, seq)
	if err != nil {
		return false, err
	}
	return committer == name || !hidden[seq], nil
}
