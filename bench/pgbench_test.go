package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParsePgbench(t *testing.T) {
	t.Parallel()
	out, err := os.ReadFile("testdata/pgbench-tpcb.txt")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParsePgbench(string(out))
	if err != nil {
		t.Fatal(err)
	}
	want := PgbenchResult{Transactions: 1268, Failed: 4, Retried: 231, Retries: 1026, TPS: 254.759308, AvgMs: 15.652}
	if r != want {
		t.Errorf("got %+v\nwant %+v", r, want)
	}
	if _, err := ParsePgbench("pgbench: error: connection to server failed"); err == nil {
		t.Error("no error for output without results")
	}
}

func TestPgbenchLatencies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	prefix := filepath.Join(dir, "pgbench_log")
	var b strings.Builder
	for i := 1; i <= 100; i++ {
		b.WriteString("0 " + itoa(i) + " " + itoa(i*1000) + " 0 1764072000 0 0\n")
	}
	b.WriteString("1 101 failed 0 1764072000 0 19\n")
	if err := os.WriteFile(prefix+".123", []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	lat, err := pgbenchLatencies(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(lat) != 100 || percentile(lat, 50) != 50 || percentile(lat, 99) != 99 || percentile(lat, 100) != 100 {
		t.Errorf("%d latencies, p50 %v, p99 %v", len(lat), percentile(lat, 50), percentile(lat, 99))
	}
}

func TestPgbenchMarkdown(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	r.Pgbench = []*Cell{
		{Workload: PgbenchWorkload, Threads: 4, System: Coffer, Reps: []Rep{{TPS: 100, P99Ms: 80}}},
		{Workload: PgbenchWorkload, Threads: 4, System: PostgreSQL, Reps: []Rep{{TPS: 400, P99Ms: 20}}},
		{Workload: PgbenchWorkload, Threads: 4, System: CofferReadCommitted, Reps: []Rep{{TPS: 200, P99Ms: 30}}},
	}
	for _, c := range r.Pgbench {
		c.summarize(10e9)
	}
	r.Ratios = append(r.Ratios, ratios(r.Pgbench, 1)...)
	md := r.Markdown("")
	for _, want := range []string{"pgbench TPC-B-like over the Postgres wire", "| 4 | Coffer | PostgreSQL | **0.25** | 4.00 |",
		"| 4 | Coffer, read committed | PostgreSQL | **0.50** | 1.50 |", "| pgbench_tpcb | 4 | Coffer | 100 / 100 / 100 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "| Coffer | Coffer, read committed |") || strings.Contains(md, "| Coffer, read committed | Coffer |") {
		t.Error("Coffer compared with itself at read committed")
	}
	if strings.Contains(md, "| pgbench_tpcb | 4 | 100 | 400 |") {
		t.Error("pgbench ratios listed in the sysbench table")
	}
}
