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
		"added with issue 6 (ledger)",
		"## sysbench on the Postgres wire: Coffer / PostgreSQL (median of 3)",
		"| oltp_point_select | 4 | 1100 | 4400 | **0.25** |",
		"![throughput and p99 latency per system](chart.png)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
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
