package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"time"
)

// Report is everything one run measured, written as JSON.
type Report struct {
	Mode     string            `json:"mode"`
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished"`
	Machine  Machine           `json:"machine"`
	Versions map[string]string `json:"versions"`
	Settings Settings          `json:"settings"`
	Sysbench []*Cell           `json:"sysbench"`
	Inserts  []*Cell           `json:"inserts"`
	Pgbench  []*Cell           `json:"pgbench,omitempty"`
	// Ledger and Policy measure Coffer alone (no peer, no ratio against
	// one); nil when not run.
	Ledger       *LedgerResult `json:"ledger,omitempty"`
	Policy       *PolicyRecord `json:"policy,omitempty"`
	Ratios       []RatioRow    `json:"ratios"`
	Profiles     []ProfileFile `json:"profiles,omitempty"`
	Placeholders []Placeholder `json:"not_yet_measured"`
	Notes        []string      `json:"notes,omitempty"`
	// Stem names the run's files (<date>-<host>, with -quick, and -2, -3,
	// … for a later run of the same day: one run's results never replace
	// another's). Empty in reports written before it existed.
	Stem string `json:"stem,omitempty"`
}

// Settings records how the run was made, so another can repeat it.
type Settings struct {
	Reps              int                `json:"reps"`
	Systems           []string           `json:"systems"`
	SysbenchWorkloads []string           `json:"sysbench_workloads"`
	Threads           []int              `json:"threads"`
	Tables            int                `json:"tables"`
	TableSize         int                `json:"table_size"`
	SysbenchWarmupS   float64            `json:"sysbench_warmup_s"`
	SysbenchDurationS float64            `json:"sysbench_duration_s"`
	SysbenchFlags     string             `json:"sysbench_flags"`
	InsertConns       []int              `json:"insert_conns"`
	InsertWarmupS     float64            `json:"insert_warmup_s"`
	InsertDurationS   float64            `json:"insert_duration_s"`
	InsertStatement   string             `json:"insert_statement"`
	PrepareSeconds    map[string]float64 `json:"prepare_seconds,omitempty"`
	PgbenchFlags      string             `json:"pgbench_flags,omitempty"`
	Order             string             `json:"order"`
	// A repetition during which other processes used more than
	// DisturbedPct of the machine was measured again up to Retries times.
	Retries      int     `json:"retries"`
	DisturbedPct float64 `json:"disturbed_pct"`
}

// Cell is one workload at one concurrency on one system, over all
// repetitions. Threads is the sysbench thread count or the number of
// insert connections.
type Cell struct {
	Workload string `json:"workload"`
	Threads  int    `json:"threads"`
	System   string `json:"system"`
	Reps     []Rep  `json:"reps"`
	TPS      Spread `json:"tps"`
	P50Ms    Spread `json:"p50_ms"`
	P95Ms    Spread `json:"p95_ms"`
	P99Ms    Spread `json:"p99_ms"`
	// ErrorsPerS counts statements the workload retried or dropped
	// (sysbench's "ignored errors": write conflicts and deadlocks).
	ErrorsPerS Spread `json:"errors_per_s"`
	// OtherCPUPct is the machine share used by processes the harness did
	// not start while the cell ran: interference from other work.
	OtherCPUPct Spread `json:"other_cpu_pct"`
}

// Rep is one measured repetition.
type Rep struct {
	TPS          float64 `json:"tps"`
	QPS          float64 `json:"qps,omitempty"`
	P50Ms        float64 `json:"p50_ms"`
	P95Ms        float64 `json:"p95_ms"`
	P99Ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
	Transactions int64   `json:"transactions"`
	Errors       int64   `json:"errors"`
	OtherCPUPct  float64 `json:"other_cpu_pct"`
	Attempts     int     `json:"attempts"`
	// WindowTPS is a durable-insert repetition's throughput in each half
	// second, in order (InsertResult.WindowTPS).
	WindowTPS []float64 `json:"window_tps,omitempty"`
	// Err marks a failed repetition, left out of the spreads.
	Err string `json:"error,omitempty"`
	// FirstError is a sample of the errors a successful repetition counted.
	FirstError string `json:"first_error,omitempty"`
}

// summarize fills the cell's spreads from its successful repetitions.
func (c *Cell) summarize(duration time.Duration) {
	var tps, p50, p95, p99, errs, other []float64
	for i := range c.Reps {
		c.Reps[i].makeFinite()
	}
	for _, r := range c.Reps {
		if r.Err != "" {
			continue
		}
		tps = append(tps, r.TPS)
		p50 = append(p50, r.P50Ms)
		p95 = append(p95, r.P95Ms)
		p99 = append(p99, r.P99Ms)
		errs = append(errs, float64(r.Errors)/duration.Seconds())
		other = append(other, r.OtherCPUPct)
	}
	c.TPS, c.P50Ms, c.P95Ms, c.P99Ms = Summarize(tps), Summarize(p50), Summarize(p95), Summarize(p99)
	c.ErrorsPerS, c.OtherCPUPct = Summarize(errs), Summarize(other)
}

// makeFinite zeroes values JSON cannot hold, so one odd repetition
// cannot lose a whole run's results at the end.
func (r *Rep) makeFinite() {
	for _, v := range []*float64{&r.TPS, &r.QPS, &r.P50Ms, &r.P95Ms, &r.P99Ms, &r.MaxMs, &r.OtherCPUPct} {
		if math.IsNaN(*v) || math.IsInf(*v, 0) {
			*v = 0
		}
	}
}

// RatioRow compares Coffer with one peer on one cell, by medians.
type RatioRow struct {
	Workload string `json:"workload"`
	Threads  int    `json:"threads"`
	// System is the Coffer configuration compared: coffer (one node),
	// coffer-3 (a 3-node cluster) or coffer-rc (pgbench with its clients
	// at read committed).
	System    string   `json:"system"`
	Peer      string   `json:"peer"`
	CofferTPS *float64 `json:"coffer_tps"`
	PeerTPS   *float64 `json:"peer_tps"`
	// TPSRatio is Coffer/peer throughput: above 1, Coffer is faster.
	TPSRatio *float64 `json:"tps_ratio"`
	// P99Ratio is Coffer/peer p99 latency: above 1, Coffer is slower.
	P99Ratio *float64 `json:"p99_ratio"`
	Reps     int      `json:"reps"`
}

// ratios compares Coffer's cells with each peer's cell of the same
// workload and concurrency.
func ratios(cells []*Cell, reps int) []RatioRow {
	type key struct {
		w string
		t int
	}
	var rows []RatioRow
	for _, subject := range []string{Coffer, CofferCluster, CofferReadCommitted} {
		mine := map[key]*Cell{}
		for _, c := range cells {
			if c.System == subject {
				mine[key{c.Workload, c.Threads}] = c
			}
		}
		for _, p := range cells {
			cf := mine[key{p.Workload, p.Threads}]
			if p.System == Coffer || p.System == CofferCluster || p.System == CofferReadCommitted || cf == nil || (p.System == CofferNoLedger && subject != Coffer) {
				continue
			}
			rows = append(rows, RatioRow{
				Workload:  p.Workload,
				Threads:   p.Threads,
				System:    subject,
				Peer:      p.System,
				CofferTPS: orNil(cf.TPS.Median),
				PeerTPS:   orNil(p.TPS.Median),
				TPSRatio:  orNil(Ratio(cf.TPS.Median, p.TPS.Median)),
				P99Ratio:  orNil(Ratio(cf.P99Ms.Median, p.P99Ms.Median)),
				Reps:      reps,
			})
		}
	}
	return rows
}

// Placeholder is a workload the issue asks for that cannot run yet.
type Placeholder struct {
	Workload string `json:"workload"`
	Waits    string `json:"waits_for"`
}

// Placeholders are the workloads added as later issues land. They are
// listed, never filled with made-up numbers. (Ledger verification and
// receipt rates, and policy overhead, were placeholders until they became
// workloads: Report.Ledger and Report.Policy.)
var Placeholders = []Placeholder{
	{"encryption-at-rest overhead", "no issue yet (encryption at rest)"},
}

// ReadReport loads a report written by WriteJSON, to render it again.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Interference summarises how much of the machine other processes used
// over all measured repetitions: median and maximum percent.
func (r *Report) Interference() Spread {
	var all []float64
	for _, c := range r.cells() {
		for _, rep := range c.Reps {
			if rep.Err == "" {
				all = append(all, rep.OtherCPUPct)
			}
		}
	}
	return Summarize(all)
}

// cells are every measured cell: sysbench, inserts, pgbench.
func (r *Report) cells() []*Cell {
	return append(append(append([]*Cell{}, r.Sysbench...), r.Inserts...), r.Pgbench...)
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// cell looks up a cell by its coordinates.
func findCell(cells []*Cell, workload string, threads int, system string) *Cell {
	for _, c := range cells {
		if c.Workload == workload && c.Threads == threads && c.System == system {
			return c
		}
	}
	return nil
}
