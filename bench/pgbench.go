package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PgbenchWorkload names pgbench's built-in TPC-B-like script in results.
const PgbenchWorkload = "pgbench_tpcb"

// ErrPgbenchOutput is returned when pgbench printed no result block.
var ErrPgbenchOutput = errors.New("bench: pgbench printed no results")

// PgbenchConfig is one measured `pgbench` run against a Postgres-wire
// endpoint.
type PgbenchConfig struct {
	Endpoint Endpoint
	Clients  int
	Duration time.Duration
	// MaxTries lets pgbench retry transactions that failed with a
	// serialization failure or deadlock (40001/40P01), as an application
	// would; Coffer's snapshot isolation reports lost write races so.
	MaxTries int
	// LogDir receives pgbench's per-transaction log, read for the latency
	// percentiles.
	LogDir string
	// Options is the connections' PGOPTIONS ("": none).
	Options string
}

// PgbenchResult is what one pgbench run reports.
type PgbenchResult struct {
	Transactions int64
	Failed       int64
	Retried      int64 // transactions retried at least once
	Retries      int64 // retries in all
	TPS          float64
	AvgMs        float64
	P50Ms        float64
	P95Ms        float64
	P99Ms        float64
	MaxMs        float64
}

var (
	rePgbenchTPS     = regexp.MustCompile(`(?m)^tps = ([\d.]+) \(without initial connection time\)`)
	rePgbenchTx      = regexp.MustCompile(`(?m)^number of transactions actually processed: (\d+)`)
	rePgbenchFailed  = regexp.MustCompile(`(?m)^number of failed transactions: (\d+)`)
	rePgbenchRetried = regexp.MustCompile(`(?m)^number of transactions retried: (\d+)`)
	rePgbenchRetries = regexp.MustCompile(`(?m)^total number of retries: (\d+)`)
	rePgbenchAvg     = regexp.MustCompile(`(?m)^latency average = ([\d.]+) ms`)
)

// ParsePgbench reads the summary pgbench (15 and later) prints after a run.
func ParsePgbench(out string) (PgbenchResult, error) {
	var r PgbenchResult
	m := rePgbenchTPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("%w: %s", ErrPgbenchOutput, tail(out, 600))
	}
	r.TPS = atof(m[1])
	for _, f := range []struct {
		re  *regexp.Regexp
		dst *int64
	}{{rePgbenchTx, &r.Transactions}, {rePgbenchFailed, &r.Failed}, {rePgbenchRetried, &r.Retried}, {rePgbenchRetries, &r.Retries}} {
		if m := f.re.FindStringSubmatch(out); m != nil {
			*f.dst = atoi(m[1])
		}
	}
	if m := rePgbenchAvg.FindStringSubmatch(out); m != nil {
		r.AvgMs = atof(m[1])
	}
	return r, nil
}

// pgbenchLatencies reads the latencies (ms) of the successful
// transactions from pgbench's per-transaction logs (-l): the third field
// of each line is the latency in microseconds, or "failed".
func pgbenchLatencies(prefix string) ([]float64, error) {
	files, err := filepath.Glob(prefix + ".*")
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("bench: no pgbench log %s.*: %v", prefix, err)
	}
	var lat []float64
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 3 {
				continue
			}
			if us, err := strconv.ParseFloat(fields[2], 64); err == nil {
				lat = append(lat, us/1000)
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	slices.Sort(lat)
	return lat, nil
}

// percentile of sorted values (nearest rank); NaN when empty.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// pgbenchBin prefers the pgbench of the newest installed PostgreSQL (the
// peer's version), then whatever is on PATH.
func pgbenchBin() (string, error) {
	if dir, err := postgresBinDir(); err == nil {
		if p := filepath.Join(dir, "pgbench"); fileExists(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	return "", errors.New("bench: pgbench not found (apt-get install postgresql-contrib)")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func pgbenchCommand(ctx context.Context, bin string, e Endpoint, args ...string) *exec.Cmd {
	all := append([]string{"-h", e.Host, "-p", strconv.Itoa(e.Port), "-U", e.User}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, e.Database)...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+e.Password, "PGSSLMODE=disable", "PGAPPNAME=coffer-bench")
	return cmd
}

// PgbenchInit loads pgbench's tables at the given scale (pgbench -i: the
// client generates the rows and sends them with COPY FROM STDIN).
func PgbenchInit(ctx context.Context, e Endpoint, scale int) error {
	bin, err := pgbenchBin()
	if err != nil {
		return err
	}
	out, err := pgbenchCommand(ctx, bin, e, "-i", "-s", strconv.Itoa(scale), "-q").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgbench -i -s %d on %s: %w: %s", scale, e.Addr(), err, tail(string(out), 800))
	}
	return nil
}

// RunPgbench runs the built-in TPC-B-like script for c.Duration.
func RunPgbench(ctx context.Context, c PgbenchConfig) (PgbenchResult, error) {
	bin, err := pgbenchBin()
	if err != nil {
		return PgbenchResult{}, err
	}
	if err := os.MkdirAll(c.LogDir, 0o755); err != nil {
		return PgbenchResult{}, err
	}
	prefix := filepath.Join(c.LogDir, "pgbench_log")
	old, _ := filepath.Glob(prefix + ".*")
	for _, f := range old {
		os.Remove(f)
	}
	cmd := pgbenchCommand(ctx, bin, c.Endpoint, c.args(prefix)...)
	if c.Options != "" {
		cmd.Env = append(cmd.Env, "PGOPTIONS="+c.Options)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return PgbenchResult{}, fmt.Errorf("pgbench %s: %w: %s", strings.Join(c.args(prefix), " "), err, tail(string(out), 800))
	}
	r, err := ParsePgbench(string(out))
	if err != nil {
		return r, err
	}
	lat, err := pgbenchLatencies(prefix)
	if err != nil {
		return r, err
	}
	r.P50Ms, r.P95Ms, r.P99Ms = percentile(lat, 50), percentile(lat, 95), percentile(lat, 99)
	if len(lat) > 0 {
		r.MaxMs = lat[len(lat)-1]
	}
	return r, nil
}

func (c PgbenchConfig) args(logPrefix string) []string {
	return []string{
		"-c", strconv.Itoa(c.Clients), "-j", "1",
		"-T", strconv.Itoa(int(c.Duration.Seconds())),
		"--max-tries=" + strconv.Itoa(c.MaxTries),
		"-l", "--log-prefix=" + logPrefix,
	}
}

// pgEndpoint is where a system serves the Postgres wire, if it does.
func pgEndpoint(s system) (Endpoint, bool) {
	if e := s.Endpoint(); e.Wire == WirePostgres {
		return e, true
	}
	if p, ok := s.(interface{ PGEndpoint() Endpoint }); ok {
		return p.PGEndpoint(), true
	}
	return Endpoint{}, false
}

// runPgbench loads pgbench's tables on Coffer and PostgreSQL, then runs
// the TPC-B-like script on each, repetitions interleaved.
func (r *runner) runPgbench(ctx context.Context, dir string) error {
	if !r.cfg.Pgbench {
		return nil
	}
	// A target is one cell: a system's endpoint and the clients' PGOPTIONS.
	// Coffer runs once more with its clients at read committed, on the
	// same server and tables (its own cell, coffer-rc).
	type target struct {
		name, options string
		ep            Endpoint
	}
	var loaded, targets []target // loaded: the systems pgbench -i loads
	for _, s := range r.systems {
		if e, ok := pgEndpoint(s); ok && (s.Name() == Coffer || s.Name() == PostgreSQL) {
			loaded = append(loaded, target{name: s.Name(), ep: e})
		}
	}
	if len(loaded) == 0 {
		return nil
	}
	targets = append(targets, loaded...)
	for _, t := range loaded {
		if t.name == Coffer {
			targets = append(targets, target{name: CofferReadCommitted, options: readCommittedOptions, ep: t.ep})
		}
	}
	if bin, err := pgbenchBin(); err == nil {
		if v, err := commandOutput(bin, "--version"); err == nil {
			r.report.Versions["pgbench"] = v
		}
	}
	for _, t := range loaded {
		r.progress("pgbench -i -s %d on %s", r.cfg.PgbenchScale, t.name)
		t0 := time.Now()
		if err := PgbenchInit(ctx, t.ep, r.cfg.PgbenchScale); err != nil {
			return fmt.Errorf("pgbench init on %s: %w", t.name, err)
		}
		r.report.Settings.PrepareSeconds["pgbench "+t.name] = time.Since(t0).Seconds()
	}
	r.steps, r.step = r.cfg.Reps*len(targets), 0
	cells := make([]*Cell, len(targets))
	for i, t := range targets {
		cells[i] = &Cell{Workload: PgbenchWorkload, Threads: r.cfg.PgbenchClients, System: t.name}
	}
	for rep := 1; rep <= r.cfg.Reps; rep++ {
		for i, t := range targets {
			if err := ctx.Err(); err != nil {
				return err
			}
			pc := PgbenchConfig{Endpoint: t.ep, Clients: r.cfg.PgbenchClients, Duration: r.cfg.PgbenchDuration,
				MaxTries: pgbenchMaxTries, LogDir: filepath.Join(dir, "pgbench-"+t.name), Options: t.options}
			label := fmt.Sprintf("%s clients=%d %s rep %d/%d", PgbenchWorkload, pc.Clients, t.name, rep, r.cfg.Reps)
			cells[i].Reps = append(cells[i].Reps, r.measure(label, func() Rep { return pgbenchRep(ctx, pc) }))
		}
	}
	for _, c := range cells {
		c.summarize(r.cfg.PgbenchDuration)
		r.report.Pgbench = append(r.report.Pgbench, c)
	}
	return nil
}

// pgbenchMaxTries is pgbench's --max-tries for every system.
const pgbenchMaxTries = 20

// readCommittedOptions is coffer-rc's PGOPTIONS.
const readCommittedOptions = `-c default_transaction_isolation=read\ committed`

func pgbenchRep(ctx context.Context, pc PgbenchConfig) Rep {
	before := sampleCPU()
	res, err := RunPgbench(ctx, pc)
	other := otherCPUPercent(before, sampleCPU())
	if err != nil {
		return Rep{Err: tail(err.Error(), 500), OtherCPUPct: other}
	}
	rep := Rep{
		TPS: res.TPS, P50Ms: res.P50Ms, P95Ms: res.P95Ms, P99Ms: res.P99Ms, MaxMs: res.MaxMs,
		Transactions: res.Transactions, Errors: res.Retries + res.Failed, OtherCPUPct: other,
	}
	if res.Retried > 0 || res.Failed > 0 {
		rep.FirstError = fmt.Sprintf("%d of %d transactions retried (%d retries), %d failed after %d tries",
			res.Retried, res.Transactions+res.Failed, res.Retries, res.Failed, pc.MaxTries)
	}
	return rep
}

// pgbenchSettings describes the pgbench runs for the report.
func pgbenchSettings(c Config) string {
	if !c.Pgbench {
		return ""
	}
	return fmt.Sprintf("pgbench -i -s %d (client-side data generation: COPY FROM STDIN), then the built-in TPC-B-like script with -c %d -j 1 -T %d --max-tries=%d (simple protocol; serialization failures retried by pgbench, every system alike); p50/p95/p99 from pgbench's per-transaction log",
		c.PgbenchScale, c.PgbenchClients, int(c.PgbenchDuration.Seconds()), pgbenchMaxTries)
}

// pgbenchTable renders the pgbench cells and their Coffer/PostgreSQL
// ratios.
func (r *Report) pgbenchTable(h string, rows []RatioRow) string {
	if len(r.Pgbench) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s pgbench TPC-B-like over the Postgres wire (median of %d)\n\n", h, r.Settings.Reps)
	b.WriteString("| clients | system | tps (min / median / max) | p50 ms | p95 ms | p99 ms | retries+failures/s |\n|---:|---|---|---:|---:|---:|---:|\n")
	for _, c := range r.Pgbench {
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s |\n", c.Threads, systemTitle[c.System], spreadText(c.TPS, 0),
			num(c.P50Ms.Median, 2), num(c.P95Ms.Median, 2), num(c.P99Ms.Median, 2), num(c.ErrorsPerS.Median, 1))
	}
	if len(rows) > 0 {
		b.WriteString("\n| clients | Coffer | peer | Coffer/peer tps | Coffer/peer p99 |\n|---:|---|---|---:|---:|\n")
		for _, row := range rows {
			fmt.Fprintf(&b, "| %d | %s | %s | **%s** | %s |\n", row.Threads, systemTitle[row.System], systemTitle[row.Peer], numPtr(row.TPSRatio, 2), numPtr(row.P99Ratio, 2))
		}
	}
	b.WriteString("\nPostgreSQL runs at its default isolation (read committed), Coffer at its default, snapshot isolation: pgbench retries Coffer's 40001 write-write conflicts (every transaction updates the one pgbench_branches row at scale 1). Coffer, read committed is the same server with its clients at read committed (PGOPTIONS), which writes the newest version under the row lock as PostgreSQL does.\n")
	return b.String()
}
