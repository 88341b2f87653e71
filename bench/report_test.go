package bench

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleReport is a small finished run: one sysbench cell and one insert
// cell per system, the second Coffer repetition failed.
func sampleReport() *Report {
	r := &Report{
		Mode:         ModeFull,
		Started:      time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Finished:     time.Date(2026, 11, 25, 12, 20, 0, 0, time.UTC),
		Machine:      Machine{Host: "box", Cores: 2},
		Versions:     map[string]string{Coffer: "coffer dev"},
		Settings:     Settings{Reps: 3, InsertConns: []int{16}},
		Placeholders: Placeholders,
	}
	cell := func(w string, th int, sys string, tps ...float64) *Cell {
		c := &Cell{Workload: w, Threads: th, System: sys}
		for _, v := range tps {
			rep := Rep{TPS: v, P99Ms: 1000 / v}
			if v == 0 {
				rep = Rep{Err: "sysbench failed"}
			}
			c.Reps = append(c.Reps, rep)
		}
		c.summarize(10 * time.Second)
		return c
	}
	r.Sysbench = []*Cell{
		cell("oltp_read_write", 4, Coffer, 100, 0, 120),
		cell("oltp_read_write", 4, MariaDB, 400, 500, 450),
		cell("pg:oltp_point_select", 4, Coffer, 1000, 1100, 1200),
		cell("pg:oltp_point_select", 4, PostgreSQL, 4000, 4400, 4400),
	}
	r.Inserts = []*Cell{
		cell("durable_insert", 16, Coffer, 5000, 6000, 7000),
		cell("durable_insert", 16, MariaDB, 10000, 10000, 10000),
		cell("durable_insert", 16, PostgreSQL, 8000, 7000, 9000),
	}
	r.Ratios = append(ratios(r.Sysbench, 3), ratios(r.Inserts, 3)...)
	r.Ledger = &LedgerResult{
		Entries: 200_000, SignEvery: 1000, RowBytes: 100, GOMAXPROCS: 2, GoVersion: "go1.26",
		BuildS: 6.5, BuildCommitsPerS: 30769, VerifyS: 0.8, VerifyCPUS: 1.1,
		EntriesPerMin: 15e6, EntriesPerS: 250_000, EntriesPerCPUS: 181_818, TargetEntriesPerMin: LedgerTarget,
		Receipts: 20_000, ReceiptGenS: 4, ReceiptsGenPerS: 5000, ReceiptsGenPerCPUS: 6500,
		ReceiptVerifyS: 8, ReceiptsVerifiedPerS: 2500, ReceiptsVerifiedPerCPU: 3000, OtherCPUPct: 3,
	}
	pf := func(v float64) *float64 { return &v }
	r.Policy = &PolicyRecord{
		Rows: 100_000, Rounds: 6, ScanReps: 5, PointS: 3, Policy: policyUnderTest, Target: PolicyTarget,
		ScanOpenMs: 309, ScanPolicyMs: 306, PointOpenQPS: 2382, PointPolicyQPS: 2454,
		ScanCPUOpenMs: 263, ScanCPUPolicyMs: 320, PointCPUOpenUs: 307, PointCPUPolicyUs: 313,
		ScanRatio: pf(0.99), PointRatio: pf(0.97), ScanCPURatio: pf(1.217), PointCPURatio: nil,
	}
	return r
}

func TestRatios(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	if got := r.Sysbench[0].TPS; got != (Spread{100, 110, 120}) {
		t.Fatalf("failed repetition not left out: %+v", got)
	}
	want := map[string]float64{
		"oltp_read_write/4/mariadb":         110.0 / 450,
		"pg:oltp_point_select/4/postgresql": 1100.0 / 4400,
		"durable_insert/16/mariadb":         6000.0 / 10000,
		"durable_insert/16/postgresql":      6000.0 / 8000,
	}
	if len(r.Ratios) != len(want) {
		t.Fatalf("%d ratio rows, want %d: %+v", len(r.Ratios), len(want), r.Ratios)
	}
	for _, row := range r.Ratios {
		key := strings.Join([]string{row.Workload, itoa(row.Threads), row.Peer}, "/")
		if row.TPSRatio == nil || math.Abs(*row.TPSRatio-want[key]) > 1e-9 {
			t.Errorf("%s: ratio %v, want %v", key, row.TPSRatio, want[key])
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestMarkdownAndJSON(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	md := r.Markdown("chart.png")
	for _, want := range []string{
		"| oltp_read_write | 4 | 110 | 450 | **0.24** |",
		"| 16 | PostgreSQL | 7000 / 8000 / 9000 |",
		"| 16 | Coffer | MariaDB | **0.60** |",
		"added with no issue yet (encryption at rest)",
		"## Ledger verification and receipts (Coffer alone, in process)",
		"A ledger of 200,000 entries (one 100-byte row each, a signed root every 1,000) built in a throw-away store in 6.5 s (30,769 commits/s, no fsync)",
		"| ledger verification (`DB.VerifyLedger`) | **15.0 M entries/min** (250,000 entries/s; 181,818 per CPU second) | 0.80 s wall, 1.10 s CPU |",
		"| receipt generation (`DB.Receipt`) | **5,000 receipts/s** (6,500 per CPU second) | 4.00 s |",
		"| receipt verification (`Receipt.Verify`) | **2,500 receipts/s** (3,000 per CPU second) | 8.00 s |",
		"Target for verification: 30 M entries/min.",
		"## Policy overhead: the same queries with and without a row policy (Coffer alone)",
		"One 100,000-row table, one user, 6 rounds",
		"| query | no policy | policy | policy / no policy | ≤ 1.15 |",
		"| filtered scan, median wall time | 309 ms | 306 ms | **0.990** | yes |",
		"| point selects, 1 connection | 2,382/s | 2,454/s | **0.970** | yes |",
		"| server CPU per filtered scan | 263 ms | 320 ms | **1.217** | **no** |",
		"| server CPU per point select | 307 µs | 313 µs | n/a | n/a |",
		"## sysbench on the Postgres wire: Coffer / PostgreSQL (median of 3)",
		"| oltp_point_select | 4 | 1100 | 4400 | **0.25** |",
		"![throughput and p99 latency per system](chart.png)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	for _, gone := range []string{"issue 6", "issue 8", "ledgerbench", "policy-bench"} {
		if strings.Contains(md, gone) {
			t.Errorf("markdown still has %q (a measured workload listed as not measured):\n%s", gone, md)
		}
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	for _, want := range []string{`"ledger": {`, `"entries_per_min": 15000000`, `"receipts_verified_per_s": 2500`,
		`"policy": {`, `"scan_ratio": 0.99`, `"point_cpu_ratio": null`, `"target": 1.15`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("JSON lacks %s:\n%s", want, raw)
		}
	}
	back, err := ReadReport(path)
	if err != nil {
		t.Fatalf("JSON does not read back: %v", err)
	}
	if got := back.Markdown("chart.png"); got != md {
		t.Errorf("markdown of the re-read report differs:\n%s\nwant\n%s", got, md)
	}
}

func TestWriteAll(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	readme := filepath.Join(dir, "README.md")
	if err := os.WriteFile(readme, []byte("# x\n"+readmeBegin+"\nold\n"+readmeEnd+"\ntail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.OutDir, cfg.Readme = filepath.Join(dir, "results"), readme
	w, err := WriteAll(sampleReport(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{w.JSON, w.Markdown, w.Chart} {
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if filepath.Base(w.JSON) != "2026-11-25-box.json" {
		t.Errorf("json named %s", w.JSON)
	}
	b, _ := os.ReadFile(readme)
	s := string(b)
	if strings.Contains(s, "old") || !strings.Contains(s, "results/2026-11-25-box.md") || !strings.HasSuffix(s, readmeEnd+"\ntail\n") {
		t.Errorf("README not updated between the markers:\n%s", s)
	}
}

func TestParseProfileTargets(t *testing.T) {
	t.Parallel()
	got, err := ParseProfileTargets("oltp_read_write:4, oltp_point_select:16")
	if err != nil || len(got) != 2 || got[1] != (ProfileTarget{"oltp_point_select", 16}) {
		t.Errorf("got %+v, %v", got, err)
	}
	for _, bad := range []string{"oltp_read_write", "x:0", "x:y"} {
		if _, err := ParseProfileTargets(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"reps", func(c *Config) { c.Reps = 0 }},
		{"system", func(c *Config) { c.Systems = []string{"oracle"} }},
		{"workload", func(c *Config) { c.Sysbench = []string{"oltp_insert_everything"} }},
		{"threads", func(c *Config) { c.Threads = []int{0} }},
		{"coffer binary", func(c *Config) { c.CofferBin = "/nonexistent/coffer" }},
		{"profile", func(c *Config) { c.Profile = []ProfileTarget{{"select_random_ranges", 1}} }},
		{"ledger entries", func(c *Config) { c.LedgerBench.Entries = 0 }},
		{"ledger receipts", func(c *Config) { c.LedgerBench.Receipts = -1 }},
		{"policy rows", func(c *Config) { c.PolicyBench.Rows = 0 }},
		{"policy rounds", func(c *Config) { c.PolicyBench.Rounds = 0 }},
		{"coffer binary for the policy workload", func(c *Config) { c.Systems, c.CofferBin = []string{MariaDB}, "/nonexistent/coffer" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := QuickConfig()
			c.CofferBin = os.Args[0] // any existing file
			tt.change(&c)
			if err := c.Validate(); err == nil {
				t.Error("no error")
			}
		})
	}
	c := QuickConfig()
	c.CofferBin = os.Args[0]
	if err := c.Validate(); err != nil {
		t.Errorf("quick config: %v", err)
	}
	// Switched off, their sizes are not checked, nor a coffer binary
	// for a run without Coffer.
	c = QuickConfig()
	c.Systems, c.CofferBin, c.Ledger, c.Policy = []string{MariaDB}, "/nonexistent/coffer", false, false
	c.LedgerBench.Entries, c.PolicyBench.Rows = 0, 0
	if err := c.Validate(); err != nil {
		t.Errorf("ledger and policy off: %v", err)
	}
}

// TestCofferAloneDefaults: a full and a quick run both measure the ledger
// and the policy overhead, the quick one smaller.
func TestCofferAloneDefaults(t *testing.T) {
	t.Parallel()
	full, quick := DefaultConfig(), QuickConfig()
	if !full.Ledger || !full.Policy || !quick.Ledger || !quick.Policy {
		t.Fatalf("ledger and policy not on by default: full %v %v, quick %v %v", full.Ledger, full.Policy, quick.Ledger, quick.Policy)
	}
	if full.LedgerBench.Entries != 200_000 || full.LedgerBench.Receipts != 20_000 || quick.LedgerBench.Entries != 20_000 || quick.LedgerBench.Receipts != 2_000 {
		t.Errorf("ledger sizes: full %+v, quick %+v", full.LedgerBench, quick.LedgerBench)
	}
	if fp, qp := full.PolicyBench, quick.PolicyBench; fp.Rows != 100_000 || fp.Rounds != 6 || fp.PointTime != 3*time.Second ||
		qp.Rows != 100_000 || qp.Rounds != 4 || qp.PointTime != time.Second {
		t.Errorf("policy settings: full %+v, quick %+v", full.PolicyBench, quick.PolicyBench)
	}
	for _, p := range Placeholders {
		if strings.Contains(p.Workload, "ledger") || strings.Contains(p.Workload, "policy") {
			t.Errorf("measured workload still a placeholder: %+v", p)
		}
	}
}

// TestFreeStem: a run's files never replace an earlier run's of the same
// day; a report read back keeps its stem.
func TestFreeStem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if got := freeStem(dir, "2026-11-25-box"); got != "2026-11-25-box" {
		t.Errorf("empty dir: %s", got)
	}
	for _, f := range []string{"2026-11-25-box.json", "2026-11-25-box-2.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := freeStem(dir, "2026-11-25-box"); got != "2026-11-25-box-3" {
		t.Errorf("after two runs: %s", got)
	}
	r := sampleReport()
	r.Stem = "2026-11-25-box-3"
	if got := stem(r); got != r.Stem {
		t.Errorf("stem of a report with one: %s", got)
	}
}
