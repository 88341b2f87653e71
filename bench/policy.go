package bench

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// PolicyConfig configures the policy-overhead workload: the same queries
// on one table by the same user, with and without a row policy on it.
type PolicyConfig struct {
	CofferBin string
	Rows      int           // rows in the table (100,000)
	Rounds    int           // rounds; each measures both states, in alternating order
	ScanReps  int           // filtered full scans per state and round
	PointTime time.Duration // point selects per state and round
	Dir       string        // scratch directory ("" for a temporary one)
	// Log, if set, receives a line after the load and after each round.
	Log func(line string)
}

// DefaultPolicyConfig is the full run; quick shortens the measurements.
func DefaultPolicyConfig(quick bool) PolicyConfig {
	c := PolicyConfig{CofferBin: "bin/coffer", Rows: 100_000, Rounds: 6, ScanReps: 5, PointTime: 3 * time.Second}
	if quick {
		c.Rounds, c.ScanReps, c.PointTime = 4, 3, time.Second
	}
	return c
}

// Validate checks the sizes.
func (c *PolicyConfig) Validate() error {
	if c.Rows < 1 || c.Rounds < 1 || c.ScanReps < 1 || c.PointTime <= 0 {
		return fmt.Errorf("%w: policy: rows, rounds, scans and point select time must be positive (got %d, %d, %d, %s)",
			ErrConfig, c.Rows, c.Rounds, c.ScanReps, c.PointTime)
	}
	return nil
}

// PolicyResult is what the workload measured. Ratios are policied over
// open: 1.10 means the policy costs 10%.
type PolicyResult struct {
	Rows                int
	ScanOpen, ScanPol   time.Duration // median filtered scan
	PointOpen, PointPol float64       // point selects per second (mean over rounds)
	ScanRatio           float64       // ScanPol / ScanOpen
	PointRatio          float64       // PointOpen / PointPol
	// Server CPU time (user + system, all threads) per scan and per point
	// select: less disturbed than wall time by other work on the machine.
	ScanCPUOpen, ScanCPUPol   time.Duration
	PointCPUOpen, PointCPUPol time.Duration
	ScanCPURatio              float64
	PointCPURatio             float64
	Version                   string
}

// String is the result as a small Markdown table.
func (r PolicyResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| policy overhead (%d rows, coffer %s) | no policy | policy | ratio |\n|---|---|---|---|\n", r.Rows, r.Version)
	fmt.Fprintf(&b, "| filtered scan (median) | %s | %s | %.3f |\n", r.ScanOpen.Round(time.Millisecond), r.ScanPol.Round(time.Millisecond), r.ScanRatio)
	fmt.Fprintf(&b, "| point select (1 connection) | %.0f/s | %.0f/s | %.3f |\n", r.PointOpen, r.PointPol, r.PointRatio)
	fmt.Fprintf(&b, "| server CPU per filtered scan | %s | %s | %.3f |\n", r.ScanCPUOpen.Round(time.Millisecond), r.ScanCPUPol.Round(time.Millisecond), r.ScanCPURatio)
	fmt.Fprintf(&b, "| server CPU per point select | %s | %s | %.3f |\n", r.PointCPUOpen.Round(time.Microsecond), r.PointCPUPol.Round(time.Microsecond), r.PointCPURatio)
	return b.String()
}

// The policy lets every stored row through, so both states return the
// same rows and the difference is the policy's cost alone: one decision
// per row read.
const policyUnderTest = `row.bank == principal.attributes.bank`

// RunPolicyOverhead starts Coffer, loads one table and times a filtered
// full scan and primary key point selects on it as one user, with the
// policy in force and without it, alternating the two states.
func RunPolicyOverhead(ctx context.Context, cfg PolicyConfig) (PolicyResult, error) {
	res := PolicyResult{Rows: cfg.Rows}
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			cfg.Log(fmt.Sprintf(format, args...))
		}
	}
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "coffer-policy-bench")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	c := newCoffer(cfg.CofferBin)
	if err := c.Start(ctx, dir); err != nil {
		return res, err
	}
	defer c.Stop()
	res.Version = c.Version()
	e := c.Endpoint()
	admin, err := openPolicyDB(e, e.User, e.Password)
	if err != nil {
		return res, err
	}
	defer admin.Close()
	loadStart := time.Now()
	if err := loadPolicyTable(ctx, admin, cfg.Rows); err != nil {
		return res, err
	}
	logf("loaded %d rows in %s (%s)", cfg.Rows, time.Since(loadStart).Round(time.Millisecond), res.Version)
	for _, q := range []string{
		`CREATE USER alice IDENTIFIED BY 'pa' ATTRIBUTE '{"bank":"A"}'`,
		"GRANT ALL ON *.* TO alice",
	} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			return res, fmt.Errorf("%s: %w", q, err)
		}
	}
	alice, err := openPolicyDB(e, "alice", "pa")
	if err != nil {
		return res, err
	}
	defer alice.Close()
	alice.SetMaxOpenConns(1)
	policyOn := false
	setPolicy := func(on bool) error {
		if on == policyOn {
			return nil
		}
		policyOn = on
		q := "DROP POLICY by_bank ON pay"
		if on {
			q = "CREATE POLICY by_bank ON pay USING '" + policyUnderTest + "'"
		}
		_, err := admin.ExecContext(ctx, q)
		return err
	}

	const scan = "SELECT COUNT(*), SUM(amount) FROM pay WHERE note LIKE '%7%'"
	var open, pol []time.Duration
	var qOpen, qPol float64
	pid := c.proc.cmd.Process.Pid
	var scanTicks, pointTicks [2]int64 // [open, policy]
	var scans, points [2]int64
	idx := func(on bool) int {
		if on {
			return 1
		}
		return 0
	}
	for round := 0; round < cfg.Rounds; round++ {
		states := []bool{false, true}
		if round%2 == 1 {
			states = []bool{true, false}
		}
		for _, on := range states {
			if err := setPolicy(on); err != nil {
				return res, err
			}
			var n int
			if err := alice.QueryRowContext(ctx, "SELECT COUNT(*) FROM pay").Scan(&n); err != nil {
				return res, err
			}
			if n != cfg.Rows {
				return res, fmt.Errorf("policy bench: alice counts %d rows (policy %v), want %d", n, on, cfg.Rows)
			}
			t0Ticks := treeTicks(pid)
			for i := 0; i < cfg.ScanReps; i++ {
				t0 := time.Now()
				var s sql.NullString
				if err := alice.QueryRowContext(ctx, scan).Scan(&n, &s); err != nil {
					return res, err
				}
				if on {
					pol = append(pol, time.Since(t0))
				} else {
					open = append(open, time.Since(t0))
				}
			}
			scanTicks[idx(on)] += treeTicks(pid) - t0Ticks
			scans[idx(on)] += int64(cfg.ScanReps)
			t0Ticks = treeTicks(pid)
			qps, err := pointSelects(ctx, alice, "pay", cfg.Rows, cfg.PointTime)
			if err != nil {
				return res, err
			}
			pointTicks[idx(on)] += treeTicks(pid) - t0Ticks
			points[idx(on)] += int64(qps * cfg.PointTime.Seconds())
			if on {
				qPol += qps / float64(cfg.Rounds)
			} else {
				qOpen += qps / float64(cfg.Rounds)
			}
		}
		logf("round %d/%d: filtered scan median so far %s without the policy, %s with it",
			round+1, cfg.Rounds, medianDuration(open).Round(time.Millisecond), medianDuration(pol).Round(time.Millisecond))
	}
	res.ScanOpen, res.ScanPol = medianDuration(open), medianDuration(pol)
	res.ScanRatio = float64(res.ScanPol) / float64(res.ScanOpen)
	res.PointOpen, res.PointPol = qOpen, qPol
	res.PointRatio = qOpen / qPol
	perOp := func(ticks, n int64) time.Duration {
		if n == 0 {
			return 0
		}
		return time.Duration(ticks) * (time.Second / clockTicks) / time.Duration(n)
	}
	res.ScanCPUOpen, res.ScanCPUPol = perOp(scanTicks[0], scans[0]), perOp(scanTicks[1], scans[1])
	res.PointCPUOpen, res.PointCPUPol = perOp(pointTicks[0], points[0]), perOp(pointTicks[1], points[1])
	if res.ScanCPUOpen > 0 {
		res.ScanCPURatio = float64(res.ScanCPUPol) / float64(res.ScanCPUOpen)
	}
	if res.PointCPUOpen > 0 {
		res.PointCPURatio = float64(res.PointCPUPol) / float64(res.PointCPUOpen)
	}
	return res, nil
}

func openPolicyDB(e Endpoint, user, pw string) (*sql.DB, error) {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = user, pw, "tcp", e.Addr(), e.Database
	c.InterpolateParams = true
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

// loadPolicyTable creates pay: id, bank 'A' on every row, amount, a note
// and a filler column.
func loadPolicyTable(ctx context.Context, db *sql.DB, rows int) error {
	q := "CREATE TABLE pay (id INT PRIMARY KEY, bank VARCHAR(8) NOT NULL, amount DECIMAL(12,2) NOT NULL, note VARCHAR(32) NOT NULL, filler VARCHAR(64) NOT NULL)"
	if _, err := db.ExecContext(ctx, q); err != nil {
		return err
	}
	r := rand.New(rand.NewSource(1))
	const batch = 2000
	for lo := 0; lo < rows; lo += batch {
		var vals []string
		for id := lo; id < lo+batch && id < rows; id++ {
			vals = append(vals, fmt.Sprintf("(%d,'A',%d.%02d,'n%d','%s')", id, r.Intn(10000), r.Intn(100), r.Intn(1000000), strings.Repeat("x", 40)))
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO pay VALUES "+strings.Join(vals, ",")); err != nil {
			return fmt.Errorf("load pay: %w", err)
		}
	}
	return nil
}

// pointSelects runs primary key point selects on table for d and returns
// queries per second.
func pointSelects(ctx context.Context, db *sql.DB, table string, rows int, d time.Duration) (float64, error) {
	stmt, err := db.PrepareContext(ctx, "SELECT id, bank, amount, note FROM "+table+" WHERE id = ?")
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	r := rand.New(rand.NewSource(2))
	n := 0
	t0 := time.Now()
	for time.Since(t0) < d {
		var id int
		var bank, amount, note string
		if err := stmt.QueryRowContext(ctx, r.Intn(rows)).Scan(&id, &bank, &amount, &note); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}

func medianDuration(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// PolicyTarget is the largest policy / no-policy ratio the policy
// overhead is meant to stay within.
const PolicyTarget = 1.15

// PolicyRecord is the policy-overhead workload in a report: its settings
// and PolicyResult in JSON-friendly units. Ratios are policy over no
// policy (for point selects: queries/s without over queries/s with), so
// above 1 the policy costs; nil where not measured.
type PolicyRecord struct {
	Rows          int     `json:"rows"`
	Rounds        int     `json:"rounds"`
	ScanReps      int     `json:"scan_reps"`
	PointS        float64 `json:"point_s"`
	Policy        string  `json:"policy"`
	CofferVersion string  `json:"coffer_version,omitempty"`

	ScanOpenMs       float64 `json:"scan_open_ms"`
	ScanPolicyMs     float64 `json:"scan_policy_ms"`
	PointOpenQPS     float64 `json:"point_open_qps"`
	PointPolicyQPS   float64 `json:"point_policy_qps"`
	ScanCPUOpenMs    float64 `json:"scan_cpu_open_ms"`
	ScanCPUPolicyMs  float64 `json:"scan_cpu_policy_ms"`
	PointCPUOpenUs   float64 `json:"point_cpu_open_us"`
	PointCPUPolicyUs float64 `json:"point_cpu_policy_us"`

	ScanRatio     *float64 `json:"scan_ratio"`
	PointRatio    *float64 `json:"point_ratio"`
	ScanCPURatio  *float64 `json:"scan_cpu_ratio"`
	PointCPURatio *float64 `json:"point_cpu_ratio"`
	Target        float64  `json:"target"`

	// OtherCPUPct is the machine share other processes used meanwhile.
	OtherCPUPct float64 `json:"other_cpu_pct"`
	// Err marks a failed run.
	Err string `json:"error,omitempty"`
}

// policyRecord is cfg's run with result res (zero if it failed).
func policyRecord(cfg PolicyConfig, res PolicyResult) PolicyRecord {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	ratio := func(v float64) *float64 {
		if v == 0 {
			return nil // not measured (the CPU ratios without /proc)
		}
		return orNil(v)
	}
	return PolicyRecord{
		Rows: cfg.Rows, Rounds: cfg.Rounds, ScanReps: cfg.ScanReps, PointS: cfg.PointTime.Seconds(),
		Policy: policyUnderTest, CofferVersion: res.Version,
		ScanOpenMs: ms(res.ScanOpen), ScanPolicyMs: ms(res.ScanPol),
		PointOpenQPS: finite(res.PointOpen), PointPolicyQPS: finite(res.PointPol),
		ScanCPUOpenMs: ms(res.ScanCPUOpen), ScanCPUPolicyMs: ms(res.ScanCPUPol),
		PointCPUOpenUs: us(res.PointCPUOpen), PointCPUPolicyUs: us(res.PointCPUPol),
		ScanRatio: ratio(res.ScanRatio), PointRatio: ratio(res.PointRatio),
		ScanCPURatio: ratio(res.ScanCPURatio), PointCPURatio: ratio(res.PointCPURatio),
		Target: PolicyTarget,
	}
}

// runPolicy runs the policy-overhead workload of a coffer-bench run on a
// Coffer node of its own and records it in the report, failed or not.
func (r *runner) runPolicy(ctx context.Context, dir string) error {
	if !r.cfg.Policy {
		return nil
	}
	pc := r.cfg.PolicyBench
	pc.CofferBin = r.cfg.CofferBin
	pc.Log = func(line string) { r.progress("policy: %s", line) }
	if dir != "" {
		pc.Dir = filepath.Join(dir, "policy")
		if err := os.MkdirAll(pc.Dir, 0o755); err != nil {
			return err
		}
	}
	r.progress("policy: starting coffer; %d rows, %d rounds of %d filtered scans and %s of point selects, with and without the policy",
		pc.Rows, pc.Rounds, pc.ScanReps, pc.PointTime)
	before := sampleCPU()
	res, err := RunPolicyOverhead(ctx, pc)
	other := otherCPUPercent(before, sampleCPU())
	if err != nil && ctx.Err() != nil {
		return ctx.Err() // interrupted: the run stops, as with the other workloads
	}
	if err != nil {
		res = PolicyResult{Version: res.Version}
	}
	rec := policyRecord(pc, res)
	rec.OtherCPUPct = other
	if err != nil {
		rec.Err = tail(err.Error(), 500)
		r.progress("policy: FAILED: %s", rec.Err)
	} else {
		r.progress("policy: policy / no policy: filtered scan %.3f, point selects %.3f (target ≤ %.2f); server CPU %.3f, %.3f",
			res.ScanRatio, res.PointRatio, PolicyTarget, res.ScanCPURatio, res.PointCPURatio)
	}
	if rec.CofferVersion != "" {
		r.report.Versions[Coffer] = cmp.Or(r.report.Versions[Coffer], rec.CofferVersion)
	}
	r.report.Policy = &rec
	return nil
}
