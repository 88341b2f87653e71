package catalog

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"

	"github.com/cofferdb/coffer/storage"
)

var _ gmssql.VersionedDatabase = (*Database)(nil)

// resolveAsOf turns an AS OF operand into a sequence number: a number is a
// ledger sequence, a time picks the newest transaction committed at or
// before it.
func (p *Provider) resolveAsOf(asOf any) (uint64, error) {
	head := p.db.ReadSeq()
	var seq uint64
	switch v := asOf.(type) {
	case string:
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("AS OF %q: expected a ledger sequence number or a timestamp", v)
		}
		seq = n
	case time.Time:
		n, err := p.db.SeqAt(v)
		if err != nil {
			return 0, err
		}
		seq = n
	default:
		return 0, fmt.Errorf("AS OF: unsupported operand %v (%T)", asOf, asOf)
	}
	if seq == 0 {
		return 0, fmt.Errorf("AS OF: nothing was committed at or before %v", asOf)
	}
	if seq > head {
		return 0, fmt.Errorf("AS OF %d: the newest committed sequence is %d", seq, head)
	}
	return seq, nil
}

// asOfStates caches catalogs loaded at old sequences.
type asOfStates struct {
	mu sync.Mutex
	m  map[uint64]*state
}

// stateAt returns the committed catalog as of seq.
func (p *Provider) stateAt(seq uint64) (*state, error) {
	p.asOf.mu.Lock()
	defer p.asOf.mu.Unlock()
	if st, ok := p.asOf.m[seq]; ok {
		return st, nil
	}
	lo := []byte{'s'}
	it, err := p.db.NewIter(lo, storage.PrefixEnd(lo), seq)
	if err != nil {
		return nil, err
	}
	st, err := loadState(it, seq)
	if err != nil {
		return nil, err
	}
	if p.asOf.m == nil || len(p.asOf.m) > 64 {
		p.asOf.m = map[uint64]*state{}
	}
	p.asOf.m[seq] = st
	return st, nil
}

// GetTableInsensitiveAsOf implements sql.VersionedDatabase: the table as
// its schema and rows were at the given sequence or time.
func (d *Database) GetTableInsensitiveAsOf(_ *gmssql.Context, name string, asOf any) (gmssql.Table, bool, error) {
	seq, err := d.p.resolveAsOf(asOf)
	if err != nil {
		return nil, false, err
	}
	st, err := d.p.stateAt(seq)
	if err != nil {
		return nil, false, err
	}
	desc := st.table(d.name, name)
	if desc == nil {
		return nil, false, nil
	}
	return newTable(d.p, desc, seq), true, nil
}

// GetTableNamesAsOf implements sql.VersionedDatabase.
func (d *Database) GetTableNamesAsOf(_ *gmssql.Context, asOf any) ([]string, error) {
	seq, err := d.p.resolveAsOf(asOf)
	if err != nil {
		return nil, err
	}
	st, err := d.p.stateAt(seq)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, t := range st.tables[strings.ToLower(d.name)] {
		names = append(names, t.Name)
	}
	return names, nil
}
