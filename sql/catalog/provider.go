package catalog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gmssql "github.com/dolthub/go-mysql-server/sql"

	"github.com/cofferdb/coffer/sql/policy"
	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

// Provider is go-mysql-server's DatabaseProvider over Coffer storage. The
// catalog lives in the system keyspace and changes only through committed
// transactions; the provider caches the last committed catalog and rebuilds
// it when storage reports a newer system change.
type Provider struct {
	db *storage.DB

	mu        sync.Mutex // serializes reloads
	committed atomic.Pointer[state]
	autoInc   sync.Map // table id → *autoIncCounter
	// autoIncMu orders creating a counter (a scan) against replicated
	// commits moving counters (ApplyCommitted).
	autoIncMu sync.Mutex
	// autoIncSrc is a cluster node's source of AUTO_INCREMENT blocks
	// (SetAutoIncSource, before serving); nil on a single node.
	autoIncSrc AutoIncSource
	sizes      sync.Map // table id → sizeEstimate
	asOf       asOfStates
	procs      gmssql.ExternalStoredProcedureRegistry

	// policyCache holds compiled row policies; roles returns the roles
	// granted to a login (set by the engine from its user store);
	// principals caches the session principals of one catalog state.
	policyCache policy.Cache
	roles       func(user, host string) []string
	principals  principalCache

	// system holds read-only databases other packages add before serving
	// (sql/governance's coffer_charter), by lower-case name.
	system map[string]gmssql.Database

	// locks is the engine's row lock table (SetLockTable); DDL takes the
	// table id counter's lock in it.
	locks *txn.LockTable
}

// SetLockTable gives the provider the engine's row lock table, before
// serving.
func (p *Provider) SetLockTable(lt *txn.LockTable) { p.locks = lt }

// counterLockWait bounds how long a DDL statement waits for the table id
// counter's lock (another transaction's DDL holds it until it ends).
var counterLockWait = 50 * time.Second

// TableIDCounterKey is the system key of the table id counter, whose row
// lock CREATE TABLE takes.
func TableIDCounterKey() []byte { return storage.SystemKey(sysNextTableID) }

// SetCounterLockWaitForTest sets counterLockWait and returns a function
// that restores it (tests of other packages).
func SetCounterLockWaitForTest(d time.Duration) (restore func()) {
	old := counterLockWait
	counterLockWait = d
	return func() { counterLockWait = old }
}

// AddSystemDatabase adds a read-only database served next to the stored
// ones. Call it before the provider serves queries.
func (p *Provider) AddSystemDatabase(db gmssql.Database) {
	if p.system == nil {
		p.system = map[string]gmssql.Database{}
	}
	p.system[strings.ToLower(db.Name())] = db
}

func (p *Provider) isSystem(name string) bool {
	_, ok := p.system[strings.ToLower(name)]
	return ok || strings.EqualFold(name, LedgerDatabase)
}

// sizeTTL is how long a table size estimate is reused.
const sizeTTL = 2 * time.Second

type sizeEstimate struct {
	bytes uint64
	at    time.Time
}

func (p *Provider) tableSize(id uint64) (uint64, error) {
	if v, ok := p.sizes.Load(id); ok {
		if e := v.(sizeEstimate); time.Since(e.at) < sizeTTL {
			return e.bytes, nil
		}
	}
	n, err := p.db.EstimateSize(storage.TablePrefix(id))
	if err != nil {
		return 0, err
	}
	p.sizes.Store(id, sizeEstimate{bytes: n, at: time.Now()})
	return n, nil
}

var (
	_ gmssql.DatabaseProvider        = (*Provider)(nil)
	_ gmssql.MutableDatabaseProvider = (*Provider)(nil)
)

// NewProvider returns a provider over db.
func NewProvider(db *storage.DB) (*Provider, error) {
	p := &Provider{db: db, procs: gmssql.NewExternalStoredProcedureRegistry()}
	if _, err := p.committedState(); err != nil {
		return nil, err
	}
	return p, nil
}

// committedState returns the newest committed catalog readers may see.
func (p *Provider) committedState() (*state, error) {
	st := p.committed.Load()
	if st != nil && st.seq >= p.db.SystemSeq() {
		return st, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st = p.committed.Load()
	readSeq := p.db.ReadSeq()
	if st != nil && (st.seq >= p.db.SystemSeq() || st.seq >= readSeq) {
		return st, nil // the newer change is not yet durable
	}
	lo := []byte{'s'}
	it, err := p.db.NewIter(lo, storage.PrefixEnd(lo), readSeq)
	if err != nil {
		return nil, err
	}
	st, err = loadState(it, readSeq)
	if err != nil {
		return nil, err
	}
	p.committed.Store(st)
	return st, nil
}

// stateFor returns the catalog as ctx's transaction sees it.
func (p *Provider) stateFor(ctx *gmssql.Context) (*state, *txn.Transaction, error) {
	t, err := txn.FromContext(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !t.HasSystemWrites() {
		st, err := p.committedState()
		return st, t, err
	}
	if c, ok := t.CatalogCache(); ok {
		return c.(*state), t, nil
	}
	lo := []byte{'s'}
	it, err := t.NewLiveIter(lo, storage.PrefixEnd(lo))
	if err != nil {
		return nil, nil, err
	}
	st, err := loadState(it, t.ReadSeq())
	if err != nil {
		return nil, nil, err
	}
	t.SetCatalogCache(st)
	return st, t, nil
}

// Database implements sql.DatabaseProvider.
func (p *Provider) Database(ctx *gmssql.Context, name string) (gmssql.Database, error) {
	st, _, err := p.stateFor(ctx)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(name, LedgerDatabase) {
		return ledgerDatabase{p: p}, nil
	}
	if d, ok := p.system[strings.ToLower(name)]; ok {
		return d, nil
	}
	d, ok := st.databases[strings.ToLower(name)]
	if !ok {
		return nil, gmssql.ErrDatabaseNotFound.New(name)
	}
	return &Database{p: p, name: d.Name}, nil
}

// HasDatabase implements sql.DatabaseProvider.
func (p *Provider) HasDatabase(ctx *gmssql.Context, name string) bool {
	st, _, err := p.stateFor(ctx)
	return err == nil && (st.hasDatabase(name) || p.isSystem(name))
}

// AllDatabases implements sql.DatabaseProvider.
func (p *Provider) AllDatabases(ctx *gmssql.Context) []gmssql.Database {
	st, _, err := p.stateFor(ctx)
	if err != nil {
		return nil
	}
	out := []gmssql.Database{ledgerDatabase{p: p}}
	for _, d := range p.system {
		out = append(out, d)
	}
	for _, d := range st.databases {
		out = append(out, &Database{p: p, name: d.Name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// CreateDatabase implements sql.MutableDatabaseProvider.
func (p *Provider) CreateDatabase(ctx *gmssql.Context, name string) error {
	st, t, err := p.stateFor(ctx)
	if err != nil {
		return err
	}
	if st.hasDatabase(name) || p.isSystem(name) {
		return gmssql.ErrDatabaseExists.New(name)
	}
	t.Put(dbKey(name), encodeDesc(&databaseDesc{Name: name}))
	return nil
}

// DropDatabase implements sql.MutableDatabaseProvider. Rows of the dropped
// tables stay in storage as history; no descriptor refers to them.
func (p *Provider) DropDatabase(ctx *gmssql.Context, name string) error {
	st, t, err := p.stateFor(ctx)
	if err != nil {
		return err
	}
	if p.isSystem(name) {
		return gmssql.ErrDatabaseAccessDeniedForUser.New("", "", name)
	}
	if !st.hasDatabase(name) {
		return gmssql.ErrDatabaseNotFound.New(name)
	}
	for _, d := range st.tables[strings.ToLower(name)] {
		t.Delete(tableKey(d.Database, d.Name))
	}
	for _, kind := range []string{sysView, sysTrigger, sysProcedure} {
		for obj := range st.objectsOf(kind, name) {
			t.Delete(objectKey(kind, name, obj))
		}
	}
	t.Delete(dbKey(name))
	return nil
}

// nextTableID allocates a table id inside the transaction. Concurrent DDL
// on this node waits for the counter's lock, then counts on from the
// counter's newest committed value (as a READ COMMITTED write does,
// whatever the isolation: the value is the server's, not one a client
// read), so it does not conflict. Before, every concurrent CREATE TABLE
// but one failed its commit: from 4 sessions about half, and a retried
// statement could lose again and again. DDL on another node still
// conflicts on the counter at commit and is retried, so ids are never
// reused.
func (p *Provider) nextTableID(t *txn.Transaction) (uint64, error) {
	k := storage.SystemKey(sysNextTableID)
	if p.locks != nil && !t.Wrote(k) {
		if err := p.locks.Lock(context.Background(), t, k, counterLockWait); err != nil {
			switch {
			case errors.Is(err, txn.ErrDeadlock):
				return 0, gmssql.ErrLockDeadlock.New(err.Error())
			case errors.Is(err, txn.ErrLockWaitTimeout):
				return 0, txn.LockWaitTimeoutError()
			}
			return 0, fmt.Errorf("catalog: the table id counter: %w", err)
		}
		defer t.BeginLatestWrite(k, p.db.ReadSeq())()
	}
	v, ok, err := t.Get(k)
	if err != nil {
		return 0, err
	}
	id := uint64(1)
	if ok {
		if len(v) != 8 {
			return 0, fmt.Errorf("catalog: corrupt table id counter")
		}
		id = binary.BigEndian.Uint64(v)
	}
	t.Put(k, binary.BigEndian.AppendUint64(nil, id+1))
	return id, nil
}

// EnsureDatabase creates database name in its own committed transaction if
// it does not exist (genesis: the default database).
func (p *Provider) EnsureDatabase(name string, propose func(*storage.WriteSet, uint64) error) error {
	st, err := p.committedState()
	if err != nil {
		return err
	}
	if st.hasDatabase(name) {
		return nil
	}
	ws := &storage.WriteSet{Mutations: []storage.Mutation{{Key: dbKey(name), Value: encodeDesc(&databaseDesc{Name: name})}}}
	return propose(ws, p.db.ReadSeq())
}
