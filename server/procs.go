package server

import (
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The procs governor runs a single node on one P (GOMAXPROCS=1) while it
// serves one statement at a time and pebble is not flushing or compacting,
// and on the default number otherwise.
//
// Why: with one client, each commit hands off between goroutines (the
// client's, pebble's WAL writer, back), and with an idle second P each
// hand-off wakes another OS thread that spins, steals the goroutine and
// parks again: about ten futex calls per commit (perf trace). On one P
// the woken goroutine runs next on the same thread. Durable single-row
// inserts from one connection went from 7,195 / 7,935 to 8,477 / 8,513
// tx/s (alternating runs; MariaDB 9,346 / 9,749 then). At 16 and 64
// connections one P lost 10-20%, and a background job on the only P
// would hold a statement for up to the scheduler's 10 ms slice: so any
// second statement, or any background job, widens at once.
//
// Setting GOMAXPROCS stops the world and waits for a running GC cycle, so
// a statement does not do it: a second statement signals the governor's
// goroutine to widen. A background job (a pebble flush or compaction, a
// current-keyspace checkpoint: storage.Config.Background) widens at once,
// from its own goroutine. Narrowing waits for narrowAfter of quiet. An explicit
// GOMAXPROCS in the environment turns the governor off, as does a
// machine with one CPU.

// narrowAfter is how long the node must have run at most one statement,
// and no background job, before it goes to one P.
const narrowAfter = 200 * time.Millisecond

// governorTick is how often the governor looks at the load to narrow.
const governorTick = 50 * time.Millisecond

// procsGovernor adapts GOMAXPROCS to the node's load.
type procsGovernor struct {
	log *slog.Logger
	// statements counts running statements; background running flushes,
	// compactions and checkpoints.
	statements, background atomic.Int64
	// busy is set whenever the load exceeds one statement or a background
	// job runs; the governor clears it at each tick.
	busy atomic.Bool
	// mu serialises GOMAXPROCS changes; narrow is true while it is 1.
	mu     sync.Mutex
	narrow atomic.Bool
	widen  chan struct{}
	stop   chan struct{}
	done   chan struct{}
	// switches counts GOMAXPROCS changes (tests).
	switches atomic.Uint64
}

// newProcsGovernor returns a running governor, or nil when it has nothing
// to do (an explicit GOMAXPROCS, or one CPU).
func newProcsGovernor(log *slog.Logger) *procsGovernor {
	if os.Getenv("GOMAXPROCS") != "" || runtime.GOMAXPROCS(0) < 2 {
		return nil
	}
	g := &procsGovernor{log: log, widen: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	g.busy.Store(true)
	go g.run()
	return g
}

// Enter counts a statement that starts; Exit one that ended.
func (g *procsGovernor) Enter() {
	if g.statements.Add(1) > 1 {
		g.markBusy()
	}
}

func (g *procsGovernor) Exit() { g.statements.Add(-1) }

// Narrow reports that the node runs on one P: it has served at most one
// statement at a time, with no background job, for narrowAfter.
func (g *procsGovernor) Narrow() bool { return g.narrow.Load() }

// Background counts a background job that starts (+1) or ended (-1).
// A job that starts widens at once, from the job's own goroutine, so that
// it does not run on the only P beside a statement for a whole time slice
// before the governor's goroutine gets to widen.
func (g *procsGovernor) Background(delta int) {
	g.background.Add(int64(delta))
	if delta > 0 {
		g.busy.Store(true)
		g.mu.Lock()
		if g.narrow.Load() {
			g.setLocked(false)
		}
		g.mu.Unlock()
	}
}

func (g *procsGovernor) markBusy() {
	if !g.busy.Load() {
		g.busy.Store(true)
	}
	if g.narrow.Load() {
		select {
		case g.widen <- struct{}{}:
		default:
		}
	}
}

func (g *procsGovernor) run() {
	defer close(g.done)
	t := time.NewTicker(governorTick)
	defer t.Stop()
	quietSince := time.Now()
	for {
		select {
		case <-g.stop:
			g.set(false)
			return
		case <-g.widen:
			g.set(false)
			quietSince = time.Now()
		case now := <-t.C:
			if g.busy.Swap(false) || g.loaded() {
				quietSince = now
				g.set(false)
			} else if now.Sub(quietSince) >= narrowAfter {
				g.set(true)
			}
		}
	}
}

// loaded reports more than one statement, or a background job, running.
func (g *procsGovernor) loaded() bool {
	return g.statements.Load() > 1 || g.background.Load() > 0
}

// set moves GOMAXPROCS to one P (narrow) or back to the default, unless
// it is there already; it does not narrow while the node is loaded.
func (g *procsGovernor) set(narrow bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.narrow.Load() == narrow || narrow && g.loaded() {
		return
	}
	g.setLocked(narrow)
}

func (g *procsGovernor) setLocked(narrow bool) {
	if narrow {
		runtime.GOMAXPROCS(1)
	} else {
		runtime.SetDefaultGOMAXPROCS()
	}
	g.narrow.Store(narrow)
	g.switches.Add(1)
	g.log.Debug("server: GOMAXPROCS", "procs", runtime.GOMAXPROCS(0))
}

// Close stops the governor and restores the default GOMAXPROCS.
func (g *procsGovernor) Close() {
	close(g.stop)
	<-g.done
}
