package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Run starts the systems, measures every configured workload, stops the
// systems and returns the report. Output files are written by WriteAll.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, report: &Report{
		Mode:         cfg.Mode,
		Started:      time.Now().UTC(),
		Machine:      machineFacts(),
		Versions:     map[string]string{},
		Placeholders: Placeholders,
	}}
	r.report.Settings = r.settings()
	r.report.Stem = freeStem(cfg.OutDir, stem(r.report))
	if cfg.Install {
		if err := EnsurePeers(cfg.Progress); err != nil {
			return nil, err
		}
	}
	if v, err := commandOutput("sysbench", "--version"); err == nil {
		r.report.Versions["sysbench"] = v
	}
	dir, err := os.MkdirTemp("", "coffer-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	defer r.stopAll()
	if err := r.startAll(ctx, dir); err != nil {
		return nil, err
	}
	if err := r.runSysbench(ctx); err != nil {
		return nil, err
	}
	if err := r.runSysbenchPG(ctx); err != nil {
		return nil, err
	}
	if err := r.runInserts(ctx); err != nil {
		return nil, err
	}
	if err := r.runPgbench(ctx, dir); err != nil {
		return nil, err
	}
	r.runProfiles(ctx)
	// What follows measures Coffer alone: the peers are not needed.
	r.stopAll()
	if err := r.runLedger(ctx); err != nil {
		return nil, err
	}
	if err := r.runPolicy(ctx, dir); err != nil {
		return nil, err
	}
	r.report.Finished = time.Now().UTC()
	r.report.Ratios = append(ratios(r.report.Sysbench, cfg.Reps), ratios(r.report.Inserts, cfg.Reps)...)
	r.report.Ratios = append(r.report.Ratios, ratios(r.report.Pgbench, cfg.Reps)...)
	r.report.Notes = append(r.report.Notes, interferenceNotes(r.report)...)
	return r.report, nil
}

type runner struct {
	cfg     Config
	report  *Report
	systems []system
	step    int
	steps   int
}

func (r *runner) settings() Settings {
	c := r.cfg
	return Settings{
		Reps:              c.Reps,
		Systems:           c.Systems,
		SysbenchWorkloads: c.Sysbench,
		Threads:           c.Threads,
		Tables:            c.Tables,
		TableSize:         c.TableSize,
		SysbenchWarmupS:   c.SysbenchWarmup.Seconds(),
		SysbenchDurationS: c.SysbenchDuration.Seconds(),
		SysbenchFlags:     "--db-driver=mysql --percentile=99 --histogram=on (defaults otherwise: --db-ps-mode=auto, --rand-type=special, --mysql-ignore-errors=1213,1020,1205; TCP loopback; prepare with --threads=1)",
		InsertConns:       c.InsertConns,
		InsertWarmupS:     c.InsertWarmup.Seconds(),
		InsertDurationS:   c.InsertDuration.Seconds(),
		InsertStatement:   "INSERT INTO bench_insert (worker, seq, pad) VALUES (?, ?, ?) — autocommit, server-side prepared once per connection, auto-increment BIGINT key, 100-byte pad",
		PrepareSeconds:    map[string]float64{},
		PgbenchFlags:      pgbenchSettings(c),
		Order:             "for each workload and concurrency: repetition 1 on every system, then repetition 2, …; each measured sysbench run follows an unmeasured warm-up run",
		Retries:           c.Retries,
		DisturbedPct:      c.DisturbedPct,
	}
}

func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "[%s] "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// startAll starts the systems the configured workloads need.
func (r *runner) startAll(ctx context.Context, dir string) error {
	needPG := r.cfg.has(PostgreSQL) && (len(r.cfg.InsertConns) > 0 || r.cfg.Pgbench || len(r.cfg.SysbenchPG) > 0)
	var all []system
	if r.cfg.has(Coffer) {
		all = append(all, newCoffer(r.cfg.CofferBin))
	}
	if r.cfg.has(CofferNoLedger) && slices.Contains(r.cfg.Sysbench, noLedgerWorkload) {
		all = append(all, newCofferNoLedger(r.cfg.CofferBin))
	}
	if r.cfg.has(CofferCluster) && len(r.cfg.InsertConns) > 0 {
		all = append(all, newCofferCluster(r.cfg.CofferBin))
	}
	if r.cfg.has(MariaDB) {
		all = append(all, newMariaDB())
	}
	if needPG {
		all = append(all, newPostgres())
	}
	for _, s := range all {
		sdir := filepath.Join(dir, s.Name())
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			return err
		}
		r.progress("starting %s", s.Name())
		if err := s.Start(ctx, sdir); err != nil {
			return fmt.Errorf("start %s: %w", s.Name(), err)
		}
		r.systems = append(r.systems, s)
		r.report.Versions[s.Name()] = s.Version()
		r.progress("%s up at %s (%s)", s.Name(), s.Endpoint().Addr(), s.Version())
	}
	return nil
}

func (r *runner) stopAll() {
	for _, s := range r.systems {
		r.progress("stopping %s", s.Name())
		if err := s.Stop(); err != nil {
			r.progress("stop %s: %v", s.Name(), err)
		}
	}
	r.systems = nil
}

// mysqlSystems are the running systems that speak the MySQL wire.
func (r *runner) mysqlSystems() []system {
	var out []system
	for _, s := range r.systems {
		if s.Endpoint().Wire == WireMySQL && s.Name() != CofferCluster {
			out = append(out, s)
		}
	}
	return out
}

func (r *runner) runSysbench(ctx context.Context) error {
	systems := r.mysqlSystems()
	if len(r.cfg.Sysbench) == 0 || len(systems) == 0 {
		return nil
	}
	for _, s := range systems {
		r.progress("sysbench prepare on %s: %d tables × %d rows", s.Name(), r.cfg.Tables, r.cfg.TableSize)
		t0 := time.Now()
		prep := r.sysbenchConfig(s, "oltp_read_write", 1)
		if _, err := runSysbench(ctx, prep.args("prepare")); err != nil {
			return fmt.Errorf("prepare %s: %w", s.Name(), err)
		}
		r.report.Settings.PrepareSeconds[s.Name()] = time.Since(t0).Seconds()
	}
	r.steps = 0
	for _, w := range r.cfg.Sysbench {
		r.steps += len(r.cfg.Threads) * r.cfg.Reps * len(sysbenchSystems(systems, w))
	}
	r.step = 0
	for _, w := range r.cfg.Sysbench {
		systems := sysbenchSystems(systems, w)
		for _, th := range r.cfg.Threads {
			cells := make([]*Cell, len(systems))
			for i, s := range systems {
				cells[i] = &Cell{Workload: w, Threads: th, System: s.Name()}
			}
			for rep := 1; rep <= r.cfg.Reps; rep++ {
				for i, s := range systems {
					if err := ctx.Err(); err != nil {
						return err
					}
					cells[i].Reps = append(cells[i].Reps, r.sysbenchRep(ctx, s, w, th, rep))
				}
			}
			for _, c := range cells {
				c.summarize(r.cfg.SysbenchDuration)
				r.report.Sysbench = append(r.report.Sysbench, c)
			}
		}
	}
	return nil
}

// noLedgerWorkload is the one sysbench workload CofferNoLedger runs: the
// ledger's cost on the commit path shows in writes.
const noLedgerWorkload = "oltp_write_only"

// sysbenchSystems are the systems that run workload w.
func sysbenchSystems(all []system, w string) []system {
	var out []system
	for _, s := range all {
		if s.Name() == CofferNoLedger && w != noLedgerWorkload {
			continue
		}
		out = append(out, s)
	}
	return out
}

func (r *runner) sysbenchConfig(s system, workload string, threads int) SysbenchConfig {
	return SysbenchConfig{
		Workload:  workload,
		Threads:   threads,
		Duration:  r.cfg.SysbenchDuration,
		Tables:    r.cfg.Tables,
		TableSize: r.cfg.TableSize,
		Endpoint:  s.Endpoint(),
	}
}

// sysbenchRep runs one warm-up and one measured sysbench run.
func (r *runner) sysbenchRep(ctx context.Context, s system, workload string, threads, rep int) Rep {
	label := fmt.Sprintf("%s threads=%d %s rep %d/%d", workload, threads, s.Name(), rep, r.cfg.Reps)
	return r.sysbenchRun(ctx, r.sysbenchConfig(s, workload, threads), label)
}

// sysbenchRun runs one warm-up and one measured sysbench run of sc.
func (r *runner) sysbenchRun(ctx context.Context, sc SysbenchConfig, label string) Rep {
	warm := sc
	warm.Duration = r.cfg.SysbenchWarmup
	if warm.Duration >= time.Second {
		_, _ = runSysbench(ctx, warm.args("run"))
	}
	return r.measure(label, func() Rep {
		before := sampleCPU()
		out, err := runSysbench(ctx, sc.args("run"))
		other := otherCPUPercent(before, sampleCPU())
		var m Rep
		if err == nil {
			var res SysbenchResult
			if res, err = ParseSysbench(out); err == nil {
				m = sysbenchRepOf(res)
			}
		}
		if err != nil {
			m.Err = tail(err.Error(), 500)
		}
		m.OtherCPUPct = other
		return m
	})
}

// measure runs one measured repetition and prints it. A repetition during
// which other processes used more than cfg.DisturbedPct of the machine is
// measured again, up to cfg.Retries times, keeping the least disturbed.
func (r *runner) measure(label string, once func() Rep) Rep {
	r.step++
	var best Rep
	attempts := 0
	for {
		m := once()
		attempts++
		if attempts == 1 || (m.Err == "" && (best.Err != "" || m.OtherCPUPct < best.OtherCPUPct)) {
			best = m
		}
		if m.Err != "" {
			r.progress("[%d/%d] %s: FAILED: %s", r.step, r.steps, label, m.Err)
			break
		}
		r.progress("[%d/%d] %s: %.0f tx/s, p50 %.2f, p95 %.2f, p99 %.2f ms, %d errors, other CPU %.0f%%",
			r.step, r.steps, label, m.TPS, m.P50Ms, m.P95Ms, m.P99Ms, m.Errors, m.OtherCPUPct)
		if m.OtherCPUPct <= r.cfg.DisturbedPct || attempts > r.cfg.Retries {
			break
		}
		r.progress("    disturbed by other work (%.0f%% > %.0f%%): measuring again", m.OtherCPUPct, r.cfg.DisturbedPct)
	}
	best.Attempts = attempts
	return best
}

func sysbenchRepOf(res SysbenchResult) Rep {
	rep := Rep{
		TPS:          res.TPS,
		QPS:          res.QPS,
		P50Ms:        HistogramPercentile(res.Histogram, 50),
		P95Ms:        HistogramPercentile(res.Histogram, 95),
		P99Ms:        res.PercentileMs,
		MaxMs:        res.MaxMs,
		Transactions: res.Transactions,
		Errors:       res.IgnoredErrors,
	}
	if res.Percentile != 99 {
		rep.P99Ms = HistogramPercentile(res.Histogram, 99)
	}
	for _, v := range []*float64{&rep.P50Ms, &rep.P95Ms, &rep.P99Ms} {
		if math.IsNaN(*v) {
			*v = 0
		}
	}
	return rep
}

func (r *runner) runInserts(ctx context.Context) error {
	if len(r.cfg.InsertConns) == 0 || len(r.systems) == 0 {
		return nil
	}
	for _, s := range r.systems {
		if err := createInsertTable(ctx, s.Endpoint()); err != nil {
			return fmt.Errorf("insert table on %s: %w", s.Name(), err)
		}
	}
	r.steps = len(r.cfg.InsertConns) * r.cfg.Reps * len(r.systems)
	r.step = 0
	for _, n := range r.cfg.InsertConns {
		cells := make([]*Cell, len(r.systems))
		for i, s := range r.systems {
			cells[i] = &Cell{Workload: "durable_insert", Threads: n, System: s.Name()}
		}
		for rep := 1; rep <= r.cfg.Reps; rep++ {
			for i, s := range r.systems {
				if err := ctx.Err(); err != nil {
					return err
				}
				cells[i].Reps = append(cells[i].Reps, r.insertRep(ctx, s, n, rep))
			}
		}
		for _, c := range cells {
			c.summarize(r.cfg.InsertDuration)
			r.report.Inserts = append(r.report.Inserts, c)
		}
	}
	return nil
}

func (r *runner) insertRep(ctx context.Context, s system, conns, rep int) Rep {
	cfg := InsertConfig{Endpoint: s.Endpoint(), Conns: conns, Warmup: r.cfg.InsertWarmup, Duration: r.cfg.InsertDuration}
	label := fmt.Sprintf("durable_insert conns=%d %s rep %d/%d", conns, s.Name(), rep, r.cfg.Reps)
	return r.measure(label, func() Rep {
		before := sampleCPU()
		res, err := RunInsert(ctx, cfg)
		other := otherCPUPercent(before, sampleCPU())
		if err == nil && res.Transactions == 0 && res.FirstError != "" {
			err = errors.New(res.FirstError)
		}
		if err != nil {
			return Rep{Err: tail(err.Error(), 500), OtherCPUPct: other}
		}
		return Rep{
			TPS: res.TPS, P50Ms: res.P50Ms, P95Ms: res.P95Ms, P99Ms: res.P99Ms, MaxMs: res.MaxMs,
			Transactions: res.Transactions, Errors: res.Errors, OtherCPUPct: other, FirstError: res.FirstError,
			WindowTPS: res.WindowTPS,
		}
	})
}

// interferenceNotes flags cells (and the Coffer-alone workloads) during
// which other processes used a noticeable share of the machine.
func interferenceNotes(rep *Report) []string {
	const threshold = 10.0
	var notes []string
	for _, c := range rep.cells() {
		if c.OtherCPUPct.Max > threshold {
			notes = append(notes, fmt.Sprintf("%s %d on %s: other processes used up to %.0f%% of the machine (median %.0f%%)",
				c.Workload, c.Threads, c.System, c.OtherCPUPct.Max, c.OtherCPUPct.Median))
		}
	}
	if l := rep.Ledger; l != nil && l.OtherCPUPct > threshold {
		notes = append(notes, fmt.Sprintf("ledger verification and receipts: other processes used %.0f%% of the machine", l.OtherCPUPct))
	}
	if p := rep.Policy; p != nil && p.OtherCPUPct > threshold {
		notes = append(notes, fmt.Sprintf("policy overhead: other processes used %.0f%% of the machine", p.OtherCPUPct))
	}
	if len(notes) == 0 {
		return []string{fmt.Sprintf("no interference: other processes used at most %.0f%% of the machine during any measured repetition", threshold)}
	}
	return append([]string{"interference from other work on the machine (numbers of these cells are less reliable):"}, notes...)
}

// stem names a run's output files: Report.Stem, or for a report without
// one <date>-<host>, -quick for quick runs.
func stem(rep *Report) string {
	if rep.Stem != "" {
		return rep.Stem
	}
	s := rep.Started.Format("2006-01-02") + "-" + strings.ReplaceAll(rep.Machine.Host, "/", "_")
	if rep.Mode == ModeQuick {
		s += "-quick"
	}
	return s
}

// freeStem returns s, or s-2, s-3, … : the first whose results file is
// not yet in dir.
func freeStem(dir, s string) string {
	for n := 1; ; n++ {
		c := s
		if n > 1 {
			c = fmt.Sprintf("%s-%d", s, n)
		}
		if _, err := os.Stat(filepath.Join(dir, c+".json")); err != nil {
			return c // not there (or unreadable: writing it will say)
		}
	}
}
