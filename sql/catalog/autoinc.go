package catalog

import (
	"sync"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/cofferdb/coffer/storage"
)

// autoIncCounter is a table's AUTO_INCREMENT counter. As in InnoDB it is
// not transactional: values handed out are never handed out again, even if
// the transaction that took them rolls back, so concurrent inserters never
// collide. After a restart it starts above the largest stored value.
type autoIncCounter struct {
	mu   sync.Mutex
	next uint64
}

var _ gmssql.AutoIncrementTable = (*Table)(nil)

func (p *Provider) counter(ctx *gmssql.Context, t *Table) (*autoIncCounter, error) {
	if c, ok := p.autoInc.Load(t.desc.ID); ok {
		return c.(*autoIncCounter), nil
	}
	// The scan and the new counter happen between replicated commits (see
	// ApplyCommitted): a commit applied meanwhile is either in the scan or
	// moves the counter.
	p.autoIncMu.Lock()
	defer p.autoIncMu.Unlock()
	if c, ok := p.autoInc.Load(t.desc.ID); ok {
		return c.(*autoIncCounter), nil
	}
	next, err := t.maxAutoIncrement(ctx)
	if err != nil {
		return nil, err
	}
	if t.desc.AutoIncBase > next {
		next = t.desc.AutoIncBase
	}
	c, _ := p.autoInc.LoadOrStore(t.desc.ID, &autoIncCounter{next: next})
	return c.(*autoIncCounter), nil
}

// maxAutoIncrement returns one past the largest value of the AUTO_INCREMENT
// column in the newest committed state (a full scan, once per table and
// process).
func (t *Table) maxAutoIncrement(ctx *gmssql.Context) (uint64, error) {
	col := t.desc.autoIncColumn()
	if col < 0 {
		return 1, nil
	}
	lo := storage.TablePrefix(t.desc.ID)
	it, err := t.p.db.NewIter(lo, storage.PrefixEnd(lo), t.p.db.ReadSeq())
	if err != nil {
		return 0, err
	}
	defer it.Close()
	next := uint64(1)
	for ok := it.First(); ok; ok = it.Next() {
		row, err := decodeRow(it.Value(), len(t.sch.Schema))
		if err != nil {
			return 0, err
		}
		if v, ok := toUint(ctx, row[col]); ok && v >= next {
			next = v + 1
		}
	}
	return next, it.Error()
}

func toUint(ctx *gmssql.Context, v any) (uint64, bool) {
	if v == nil {
		return 0, false
	}
	if u, ok, known := IntToUint(v); known {
		return u, ok
	}
	if ctx == nil {
		ctx = gmssql.NewEmptyContext()
	}
	if i, _, err := types.Int64.Convert(ctx, v); err == nil && i.(int64) < 0 {
		return 0, false // negative values do not move the counter
	}
	u, _, err := types.Uint64.Convert(ctx, v)
	if err != nil {
		return 0, false
	}
	return u.(uint64), true
}

// IntToUint converts a Go integer (what integer columns decode and
// convert to) without a conversion context: ok is false below zero, known
// is false for values that are not Go integers.
func IntToUint(v any) (u uint64, ok, known bool) {
	var i int64
	switch n := v.(type) {
	case int8:
		i = int64(n)
	case int16:
		i = int64(n)
	case int32:
		i = int64(n)
	case int64:
		i = n
	case int:
		i = int64(n)
	case uint8:
		return uint64(n), true, true
	case uint16:
		return uint64(n), true, true
	case uint32:
		return uint64(n), true, true
	case uint64:
		return n, true, true
	case uint:
		return uint64(n), true, true
	default:
		return 0, false, false
	}
	return uint64(i), i >= 0, true
}

// PeekNextAutoIncrementValue implements sql.AutoIncrementGetter. It is
// only shown (SHOW CREATE TABLE, information_schema.TABLES); a table with
// row policies shows 0, since the counter tells how many rows others
// inserted.
func (t *Table) PeekNextAutoIncrementValue(ctx *gmssql.Context) (uint64, error) {
	if t.p.HasPolicies(ctx, t.desc.Database, t.desc.Name) {
		return 0, nil
	}
	c, err := t.p.counter(ctx, t)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.next, nil
}

// GetNextAutoIncrementValue implements sql.AutoIncrementTable: a nil
// insertVal takes the next value; a given value moves the counter past it.
func (t *Table) GetNextAutoIncrementValue(ctx *gmssql.Context, insertVal any) (uint64, error) {
	c, err := t.p.counter(ctx, t)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := toUint(ctx, insertVal); ok {
		if v >= c.next {
			c.next = v
		}
		return v, nil
	}
	v := c.next
	c.next++
	return v, nil
}

// noteAutoIncrement moves the counter past a value written explicitly.
func (p *Provider) noteAutoIncrement(ctx *gmssql.Context, t *Table, row gmssql.Row) {
	col := t.desc.autoIncColumn()
	if col < 0 {
		return
	}
	v, ok := toUint(ctx, row[col])
	if !ok {
		return
	}
	c, err := p.counter(ctx, t)
	if err != nil {
		return
	}
	c.mu.Lock()
	if v >= c.next {
		c.next = v + 1
	}
	c.mu.Unlock()
}

// setAutoIncrement implements ALTER TABLE … AUTO_INCREMENT = v: the value
// is kept in the descriptor so that it survives restarts.
func (p *Provider) setAutoIncrement(ctx *gmssql.Context, t *Table, v uint64) error {
	c, err := p.counter(ctx, t)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.next = v
	c.mu.Unlock()
	return t.updateDesc(ctx, func(d *tableDesc) error {
		d.AutoIncBase = v
		return nil
	})
}
