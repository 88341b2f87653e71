package enginetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"

	gms "github.com/dolthub/go-mysql-server"
	gmsenginetest "github.com/dolthub/go-mysql-server/enginetest"
	"github.com/dolthub/go-mysql-server/enginetest/scriptgen/setup"
	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"

	"github.com/cofferdb/coffer/sql/engine"
	"github.com/cofferdb/coffer/sql/enginetest/internal/skiplist"
	"github.com/cofferdb/coffer/sql/enginetest/internal/testname"
	"github.com/cofferdb/coffer/sql/txn"
	"github.com/cofferdb/coffer/storage"
)

// Harness is go-mysql-server's enginetest.Harness over Coffer. Every
// NewEngine opens a fresh in-memory store, so tests share nothing; the
// setup scripts then create "mydb" and the tables through the ordinary SQL
// path, as a client would.
type Harness struct {
	suite  string
	skips  *skiplist.List
	record io.Writer

	// scripts maps the normalized names of the suite's scripts, and the
	// names testing gives their subtests, to the names.
	scripts     map[string]string
	scriptTests map[string]string

	mu       sync.Mutex
	setup    []setup.SetupScript
	cur      *engine.Engine // the engine NewContext's sessions belong to
	session  *txn.Session
	script   string         // the script running now, for script-scoped skips
	asked    map[string]int // times the script asked about each exact text
	recorded map[string]bool
}

var (
	_ gmsenginetest.Harness             = (*Harness)(nil)
	_ gmsenginetest.TransactionHarness  = (*Harness)(nil)
	_ gmsenginetest.ForeignKeyHarness   = (*Harness)(nil)
	_ gmsenginetest.KeylessTableHarness = (*Harness)(nil)
	_ gmsenginetest.IndexHarness        = (*Harness)(nil)
	_ gmsenginetest.SkippingHarness     = (*Harness)(nil)
)

// Config configures a Harness.
type Config struct {
	// Suite names the upstream suite the harness runs (the Go test
	// function, e.g. "TestQueries"); it selects the skip list entries.
	Suite string
	// Skips is the known-failure list; nil skips nothing.
	Skips *skiplist.List
	// Scripts are the names of the suite's scripts, so that skip list
	// entries can be scoped to one script (see skiplist.List).
	Scripts []string
	// Record, if set, receives every query and script name the suite asks
	// the harness about, one strconv-quoted "suite<TAB>kind<TAB>text" line
	// each (kind "script" or "query"), so that failing test names can be
	// traced back to skip list entries.
	Record io.Writer
}

// Validate reports a configuration error.
func (c *Config) Validate() error {
	if c.Suite == "" {
		return errors.New("enginetest: Suite is required")
	}
	return nil
}

// NewHarness returns a harness for one upstream suite.
func NewHarness(cfg Config) (*Harness, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Harness{suite: cfg.Suite, skips: cfg.Skips, record: cfg.Record, recorded: map[string]bool{},
		scripts: map[string]string{}, scriptTests: map[string]string{}}
	for _, name := range cfg.Scripts {
		h.scripts[skiplist.Normalize(name)] = name
		h.scriptTests[testname.Rewrite(name)] = name
	}
	return h, nil
}

// principal is who the tests' sessions commit as: the same root@localhost
// client enginetest.NewBaseSession uses.
var principal = txn.Principal{Name: "root", Host: "localhost"}

// Setup implements enginetest.Harness: the scripts run on every NewEngine.
func (h *Harness) Setup(scripts ...[]setup.SetupScript) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.setup = nil
	for _, s := range scripts {
		h.setup = append(h.setup, s...)
	}
}

// NewEngine implements enginetest.Harness: a new engine over a new
// in-memory store, with the setup scripts applied.
func (h *Harness) NewEngine(t *testing.T) (gmsenginetest.QueryEngine, error) {
	db, err := storage.Open(storage.Config{InMemory: true, NoSync: true, Logger: quietLogger})
	if err != nil {
		return nil, err
	}
	e, err := engine.New(engine.Config{DB: db, Proposer: txn.LocalProposer{DB: db}, Logger: quietLogger, NoAuth: true})
	if err != nil {
		db.Close()
		return nil, err
	}
	// As enginetest.NewEngineWithProvider: every test runs as root with
	// all privileges. CREATE USER needs a persister; the tests' users live
	// and die with the engine.
	e.Analyzer.Catalog.MySQLDb.AddRootAccount()
	e.Analyzer.Catalog.MySQLDb.SetPersister(&mysql_db.NoopPersister{})
	qe := &queryEngine{Engine: e.Engine, db: db}
	if t != nil {
		t.Cleanup(func() { qe.Close() })
	}

	h.mu.Lock()
	h.cur, h.session, h.script, h.asked = e, nil, "", map[string]int{}
	if t != nil {
		// Transaction scripts build their engine inside the script's
		// subtest and never ask about the script's name.
		h.script = h.scriptOfTest(t.Name())
	}
	scripts, script := h.setup, h.script
	h.mu.Unlock()
	if script != "" {
		h.recordAsked("script", script)
	}

	ctx := gmsenginetest.NewContext(h)
	// The setup scripts expect no database but the ones they create.
	if err := runQuery(ctx, e, "DROP DATABASE "+engine.DefaultDatabase); err != nil {
		qe.Close()
		return nil, fmt.Errorf("enginetest: drop default database: %w", err)
	}
	if len(scripts) == 0 {
		scripts = setup.MydbData
	}
	if _, err := gmsenginetest.RunSetupScripts(ctx, e.Engine, h.withoutSkipped(scripts), true); err != nil {
		qe.Close()
		return nil, err
	}
	// Tests start from a clean session, as with the memory harness.
	h.mu.Lock()
	h.session = nil
	h.mu.Unlock()
	return qe, nil
}

// withoutSkipped leaves out the setup statements the skip list names (a
// VECTOR index, say): the suite runs on the rest of its data, and the
// queries that need the missing part are listed as well.
func (h *Harness) withoutSkipped(scripts []setup.SetupScript) []setup.SetupScript {
	out := make([]setup.SetupScript, len(scripts))
	for i, script := range scripts {
		for _, stmt := range script {
			h.recordAsked("query", stmt)
			if _, skip := h.skips.Reason(h.suite, "", stmt, 0); !skip {
				out[i] = append(out[i], stmt)
			}
		}
	}
	return out
}

func runQuery(ctx *gmssql.Context, e *engine.Engine, q string) error {
	_, iter, _, err := e.Query(ctx.WithQuery(q), q)
	if err != nil {
		return err
	}
	_, err = gmssql.RowIterToRows(ctx, iter)
	return err
}

// NewContext implements enginetest.Harness: a context over the harness's
// current session, created on first use.
func (h *Harness) NewContext() *gmssql.Context {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.session == nil {
		h.session = h.newSessionLocked()
	}
	return gmssql.NewContext(context.Background(), gmssql.WithSession(h.session))
}

// NewSession implements enginetest.TransactionHarness: a context over a
// new session, which later NewContext calls reuse.
func (h *Harness) NewSession() *gmssql.Context {
	h.mu.Lock()
	h.session = h.newSessionLocked()
	h.mu.Unlock()
	return h.NewContext()
}

func (h *Harness) newSessionLocked() *txn.Session {
	if h.cur == nil {
		panic("enginetest: NewContext before NewEngine: a Coffer session needs the engine's store")
	}
	return h.cur.NewSession(gmsenginetest.NewBaseSession(), principal)
}

// scriptOfTest returns the script whose subtest the named test is, or "".
func (h *Harness) scriptOfTest(name string) string {
	best, script := "", ""
	for rewritten, s := range h.scriptTests {
		if len(rewritten) > len(best) && testname.HasElement(name, rewritten) {
			best, script = rewritten, s
		}
	}
	return script
}

// SupportsForeignKeys implements enginetest.ForeignKeyHarness.
func (h *Harness) SupportsForeignKeys() bool { return true }

// SupportsKeylessTables implements enginetest.KeylessTableHarness.
func (h *Harness) SupportsKeylessTables() bool { return true }

// SupportsNativeIndexCreation implements enginetest.IndexHarness.
func (h *Harness) SupportsNativeIndexCreation() bool { return true }

// SkipQueryTest implements enginetest.SkippingHarness: query is a query, a
// setup statement or a script name. Upstream asks about a script's name
// before its statements, which tells the harness which script runs.
func (h *Harness) SkipQueryTest(query string) bool {
	h.mu.Lock()
	name, isScript := h.scripts[skiplist.Normalize(query)]
	if isScript {
		h.script, h.asked = name, map[string]int{}
	}
	script := h.script
	if h.asked == nil {
		h.asked = map[string]int{}
	}
	// testing numbers repeated subtest names by their exact text, and so
	// does "#N" in the skip list.
	h.asked[query]++
	nth := h.asked[query]
	h.mu.Unlock()
	if isScript {
		h.recordAsked("script", query)
	} else {
		h.recordAsked("query", query)
	}
	if script != "" {
		if _, all := h.skips.Reason(h.suite, "", script, 0); all {
			return true
		}
	}
	_, skip := h.skips.Reason(h.suite, script, query, nth)
	return skip
}

func (h *Harness) recordAsked(kind, text string) {
	if h.record == nil {
		return
	}
	line := strconv.Quote(h.suite+"\t"+kind+"\t"+text) + "\n"
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.recorded[line] {
		return
	}
	h.recorded[line] = true
	_, _ = io.WriteString(h.record, line)
}

// queryEngine closes the engine's store with the engine, so that the
// thousands of engines a suite builds do not pile up in memory.
type queryEngine struct {
	*gms.Engine
	db   *storage.DB
	once sync.Once
	err  error
}

// Close implements enginetest.QueryEngine; later calls return the first
// call's result.
func (q *queryEngine) Close() error {
	q.once.Do(func() {
		q.err = q.Engine.Close()
		if err := q.db.Close(); q.err == nil {
			q.err = err
		}
	})
	return q.err
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))
