package catalog

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/cofferdb/coffer/storage"
)

// autoIncCounter is a table's AUTO_INCREMENT counter. As in InnoDB it is
// not transactional: values handed out are never handed out again, even if
// the transaction that took them rolls back, so concurrent inserters never
// collide. After a restart it starts above the largest stored value.
//
// In a cluster every node keeps a counter, moved past the values of the
// commits it applies, but only the leader's hands out values: a follower
// takes them in blocks reserved on the leader (AutoIncSource). Followers
// that took values from their own counters took the same ones, and of two
// inserts forwarded at once one conflicted and ran again: with 64
// connections of single-row inserts spread over two followers of a
// 3-node cluster, half the commits conflicted and the cluster did 4,034
// tx/s; with disjoint values, 7,759. A block starts at one value, so
// inserts issued one after another through any node are numbered without
// gaps, and doubles while callers queue for values as one is reserved or
// each is used up as soon as it arrives (up to autoIncMaxBlock), so
// concurrent inserters on a follower seldom wait for the leader. Values of a block not used when leadership moves (or the
// node stops) are skipped, as InnoDB skips values after a rollback.
type autoIncCounter struct {
	mu   sync.Mutex
	next uint64

	// A follower's block: values [blockNext, blockEnd) reserved on the
	// leader of term blockTerm; blockSize is its size, blockAt when it
	// arrived, and blockContended whether other callers queued for values
	// while it was reserved. fetch lets one caller at a time reserve;
	// waiting counts the callers queued for it.
	blockNext, blockEnd, blockTerm uint64
	blockSize                      uint64
	blockAt                        time.Time
	blockContended                 bool
	fetch                          sync.Mutex
	waiting                        atomic.Int32
}

// AutoIncSource reserves AUTO_INCREMENT values on a cluster's leader for a
// follower (server/cluster implements it).
type AutoIncSource interface {
	// ReserveAutoInc reserves n consecutive values of table's counter on
	// the leader and returns the first and the leader's term. ok is false
	// on the leader itself, and when no leader answers: the node then
	// takes values from its own counter (a commit that collides with
	// another conflicts and runs again).
	ReserveAutoInc(ctx context.Context, table, n uint64) (first, term uint64, ok bool)
	// AutoIncTerm is the node's current term: a block reserved in an
	// earlier one is dropped, since a new leader's counter knows only the
	// values committed.
	AutoIncTerm() uint64
}

// autoIncMaxBlock bounds a follower's block; autoIncQuick is how soon a
// used-up block must have arrived for the next to double, and
// autoIncSlow how long one must last for the next to halve.
const (
	autoIncMaxBlock = 1024
	autoIncQuick    = time.Millisecond
	autoIncSlow     = 100 * time.Millisecond
)

// SetAutoIncSource makes the provider take AUTO_INCREMENT values from src
// while the node follows (a cluster node), before serving.
func (p *Provider) SetAutoIncSource(src AutoIncSource) { p.autoIncSrc = src }

// ReserveAutoInc is the leader's side of AutoIncSource: it takes n
// consecutive values of table id's counter and returns the first.
func (p *Provider) ReserveAutoInc(table, n uint64) (uint64, error) {
	st, err := p.committedState()
	if err != nil {
		return 0, err
	}
	d := st.byID[table]
	if d == nil {
		return 0, fmt.Errorf("catalog: no table with id %d", table)
	}
	// No SQL context: a counter's scan needs none for integer columns,
	// and making one (a session) cost this call 240 µs.
	c, err := p.counter(nil, newTable(p, d, 0))
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	first := c.next
	c.next += n
	return first, nil
}

// fromLeader takes the next value of the follower's block, reserving a
// new block when it is used up or from an earlier term; ok is false when
// the node leads or no leader answered.
func (c *autoIncCounter) fromLeader(ctx context.Context, src AutoIncSource, table uint64) (v uint64, ok bool) {
	term := src.AutoIncTerm()
	if v, ok := c.takeBlock(term); ok {
		return v, true
	}
	c.waiting.Add(1)
	c.fetch.Lock()
	c.waiting.Add(-1)
	defer c.fetch.Unlock()
	if v, ok := c.takeBlock(term); ok {
		return v, true // reserved by the caller before
	}
	c.mu.Lock()
	n := c.blockSize
	switch {
	case n == 0 || c.blockTerm != term:
		n = 1
	case c.blockContended || time.Since(c.blockAt) < autoIncQuick:
		n = min(2*n, autoIncMaxBlock)
	case time.Since(c.blockAt) > autoIncSlow:
		n = max(n/2, 1)
	}
	c.mu.Unlock()
	first, t, ok := src.ReserveAutoInc(ctx, table, n)
	if !ok {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.blockNext, c.blockEnd, c.blockTerm, c.blockSize, c.blockAt = first+1, first+n, t, n, time.Now()
	c.blockContended = c.waiting.Load() > 0
	return first, true
}

// takeBlock takes the next value of the block if it is of term and not
// used up.
func (c *autoIncCounter) takeBlock(term uint64) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.blockTerm != term || c.blockNext >= c.blockEnd {
		return 0, false
	}
	v := c.blockNext
	c.blockNext++
	return v, true
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
	if v, ok := toUint(ctx, insertVal); ok {
		c.mu.Lock()
		defer c.mu.Unlock()
		if v >= c.next {
			c.next = v
		}
		return v, nil
	}
	if src := t.p.autoIncSrc; src != nil {
		if v, ok := c.fromLeader(ctx, src, t.desc.ID); ok {
			return v, nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
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
