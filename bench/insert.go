package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// insertTable is the table the durable insert workload appends to.
const insertTable = "bench_insert"

// insertPad fills each row to about 150 bytes, like a small business record.
var insertPad = strings.Repeat("x", 100)

// InsertConfig is one durable single-row INSERT load: Conns workers, each
// with its own connection, each sending autocommit INSERTs back to back.
type InsertConfig struct {
	Endpoint Endpoint
	// Spread are more endpoints (a cluster's other nodes) the connections
	// are dealt over, with Endpoint, in turn.
	Spread   []Endpoint
	Conns    int
	Warmup   time.Duration // run but not counted
	Duration time.Duration // counted
}

// InsertResult is what an insert load measured after its warm-up.
type InsertResult struct {
	Transactions int64
	Errors       int64
	TPS          float64
	P50Ms        float64
	P95Ms        float64
	P99Ms        float64
	MaxMs        float64
	// WindowTPS is the throughput of each consecutive insertWindow of the
	// counted time (by when statements finished): a stall shows as a
	// window far below the others, which the whole-run figures average
	// away.
	WindowTPS  []float64
	FirstError string
}

// insertWindow is the span of one WindowTPS figure.
const insertWindow = 500 * time.Millisecond

// inserter is one worker's connection with its INSERT prepared.
type inserter interface {
	insert(ctx context.Context, worker int, seq int64) error
	close()
}

// createInsertTable (re)creates the insert table on e.
func createInsertTable(ctx context.Context, e Endpoint) error {
	ddl := []string{
		"DROP TABLE IF EXISTS " + insertTable,
		"CREATE TABLE " + insertTable + " (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, worker INT NOT NULL, seq BIGINT NOT NULL, pad VARCHAR(120) NOT NULL)",
	}
	if e.Wire == WirePostgres {
		ddl[1] = "CREATE TABLE " + insertTable + " (id BIGSERIAL PRIMARY KEY, worker INT NOT NULL, seq BIGINT NOT NULL, pad VARCHAR(120) NOT NULL)"
		conn, err := pgx.Connect(ctx, pgDSN(e))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		for _, s := range ddl {
			if _, err := conn.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s on %s: %w", s, e.Addr(), err)
			}
		}
		return nil
	}
	db, err := sql.Open("mysql", mysqlDSN(e, e.Database))
	if err != nil {
		return err
	}
	defer db.Close()
	for _, s := range ddl {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s on %s: %w", s, e.Addr(), err)
		}
	}
	return nil
}

// RunInsert drives the insert load and reports throughput and latency
// percentiles over the counted window.
func RunInsert(ctx context.Context, cfg InsertConfig) (InsertResult, error) {
	var workers []inserter
	eps := append([]Endpoint{cfg.Endpoint}, cfg.Spread...)
	for i, e := range eps {
		n := cfg.Conns / len(eps)
		if i < cfg.Conns%len(eps) {
			n++
		}
		ws, closeAll, err := openInserters(ctx, e, n)
		if err != nil {
			return InsertResult{}, err
		}
		defer closeAll()
		workers = append(workers, ws...)
	}

	start := time.Now()
	countFrom := start.Add(cfg.Warmup)
	end := countFrom.Add(cfg.Duration)
	lat := make([][]time.Duration, len(workers))
	fin := make([][]time.Duration, len(workers))
	errs := make([]int64, len(workers))
	firstErr := make([]error, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat[i], fin[i], errs[i], firstErr[i] = insertLoop(ctx, w, i, countFrom, end)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		// A statement in flight is not cancelled (insertLoop); the
		// caller's shutdown stops the server, which ends it.
		return InsertResult{}, ctx.Err()
	}
	return summarizeInsert(lat, fin, errs, errors.Join(firstErr...), cfg.Duration), nil
}

// insertLoop sends INSERTs until end or until ctx is done, keeping the
// latencies of those that started at or after countFrom and finished by
// end, and when each of them finished (after countFrom). A statement is
// sent with a context that cannot be cancelled: for one that can,
// go-sql-driver hands the context to a watcher goroutine before the
// statement and signals it after (pgx starts one), two goroutine wake-ups
// that cost the load client about 2.5 µs of CPU per INSERT, taken from
// the servers it measures on a 2-core machine.
func insertLoop(ctx context.Context, w inserter, worker int, countFrom, end time.Time) (lat, fin []time.Duration, nerr int64, first error) {
	stmt := context.WithoutCancel(ctx)
	for seq := int64(0); ; seq++ {
		t0 := time.Now()
		if !t0.Before(end) || ctx.Err() != nil {
			return lat, fin, nerr, first
		}
		err := w.insert(stmt, worker, seq)
		t1 := time.Now()
		if t0.Before(countFrom) || t1.After(end) {
			continue
		}
		if err != nil {
			nerr++
			if first == nil {
				first = err
			}
			continue
		}
		lat = append(lat, t1.Sub(t0))
		fin = append(fin, t1.Sub(countFrom))
	}
}

func summarizeInsert(perWorker, finished [][]time.Duration, errs []int64, err error, window time.Duration) InsertResult {
	var all []time.Duration
	for _, l := range perWorker {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := InsertResult{Transactions: int64(len(all))}
	for _, e := range errs {
		r.Errors += e
	}
	if err != nil {
		r.FirstError = tail(err.Error(), 300)
	}
	r.TPS = float64(len(all)) / window.Seconds()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r.P50Ms = ms(Percentile(all, 50))
	r.P95Ms = ms(Percentile(all, 95))
	r.P99Ms = ms(Percentile(all, 99))
	if len(all) > 0 {
		r.MaxMs = ms(all[len(all)-1])
	}
	r.WindowTPS = windowTPS(finished, window)
	return r
}

// windowTPS counts the statements finished in each insertWindow of a
// counted time of length window (a last, shorter window is left out).
func windowTPS(finished [][]time.Duration, window time.Duration) []float64 {
	n := int(window / insertWindow)
	if n == 0 {
		return nil
	}
	counts := make([]int, n)
	for _, fs := range finished {
		for _, f := range fs {
			if i := int(f / insertWindow); f >= 0 && i < n {
				counts[i]++
			}
		}
	}
	out := make([]float64, n)
	for i, c := range counts {
		out[i] = float64(c) / insertWindow.Seconds()
	}
	return out
}

// openInserters opens one connection per worker, each with the INSERT
// prepared once, so a transaction is one round trip on every system.
func openInserters(ctx context.Context, e Endpoint, n int) ([]inserter, func(), error) {
	var ws []inserter
	closeAll := func() {
		for _, w := range ws {
			w.close()
		}
	}
	var db *sql.DB
	if e.Wire == WireMySQL {
		var err error
		if db, err = sql.Open("mysql", mysqlDSN(e, e.Database)); err != nil {
			return nil, nil, err
		}
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
	}
	done := func() {
		closeAll()
		if db != nil {
			db.Close()
		}
	}
	for range n {
		var (
			w   inserter
			err error
		)
		if e.Wire == WirePostgres {
			w, err = openPGInserter(ctx, e)
		} else {
			w, err = openMySQLInserter(ctx, db)
		}
		if err != nil {
			done()
			return nil, nil, fmt.Errorf("open insert connection %d/%d to %s: %w", len(ws)+1, n, e.Addr(), err)
		}
		ws = append(ws, w)
	}
	return ws, done, nil
}

type mysqlInserter struct {
	conn *sql.Conn
	stmt *sql.Stmt
}

func openMySQLInserter(ctx context.Context, db *sql.DB) (*mysqlInserter, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	stmt, err := conn.PrepareContext(ctx, "INSERT INTO "+insertTable+" (worker, seq, pad) VALUES (?, ?, ?)")
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &mysqlInserter{conn: conn, stmt: stmt}, nil
}

func (m *mysqlInserter) insert(ctx context.Context, worker int, seq int64) error {
	_, err := m.stmt.ExecContext(ctx, worker, seq, insertPad)
	return err
}

func (m *mysqlInserter) close() {
	m.stmt.Close()
	m.conn.Close()
}

type pgInserter struct{ conn *pgx.Conn }

const pgInsertName = "bench_insert"

func openPGInserter(ctx context.Context, e Endpoint) (*pgInserter, error) {
	conn, err := pgx.Connect(ctx, pgDSN(e))
	if err != nil {
		return nil, err
	}
	if _, err := conn.Prepare(ctx, pgInsertName, "INSERT INTO "+insertTable+" (worker, seq, pad) VALUES ($1, $2, $3)"); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return &pgInserter{conn: conn}, nil
}

func (p *pgInserter) insert(ctx context.Context, worker int, seq int64) error {
	_, err := p.conn.Exec(ctx, pgInsertName, worker, seq, insertPad)
	return err
}

func (p *pgInserter) close() { p.conn.Close(context.Background()) }

// PrepareInsert creates e's database and the insert table (insertload).
func PrepareInsert(ctx context.Context, e Endpoint) error {
	if e.Wire == WireMySQL {
		if err := createMySQLDatabase(ctx, e); err != nil {
			return err
		}
	}
	return createInsertTable(ctx, e)
}
