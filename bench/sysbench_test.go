package bench

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseSysbench(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file      string
		want      SysbenchResult // Histogram compared by length and sum only
		buckets   int
		p99FromH  float64 // HistogramPercentile(99); sysbench's own line must agree
		wantError error
	}{
		{
			file: "sysbench-oltp_point_select.txt",
			want: SysbenchResult{Transactions: 37774, TPS: 7549.56, QPS: 7549.56, TotalTime: 5002900 * time.Microsecond,
				AvgMs: 0.53, MaxMs: 56.18, Percentile: 99, PercentileMs: 9.06},
			buckets:  290,
			p99FromH: 9.06,
		},
		{
			file: "sysbench-oltp_read_write.txt",
			want: SysbenchResult{Transactions: 1625, TPS: 202.27, QPS: 4225.08, IgnoredErrors: 76, TotalTime: 8033500 * time.Microsecond,
				AvgMs: 19.75, MaxMs: 229.27, Percentile: 99, PercentileMs: 94.10},
			buckets:  173,
			p99FromH: 94.10,
		},
		{
			file: "sysbench-oltp_write_only-nohistogram.txt",
			want: SysbenchResult{Transactions: 3076, TPS: 612.73, QPS: 4178.37, IgnoredErrors: 504, TotalTime: 5019700 * time.Microsecond,
				AvgMs: 26.05, MaxMs: 210.61, Percentile: 99, PercentileMs: 97.55},
		},
		{file: "sysbench-fatal.txt", wantError: ErrSysbenchOutput},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseSysbench(string(b))
			if tt.wantError != nil {
				if !errors.Is(err, tt.wantError) {
					t.Fatalf("err = %v, want %v", err, tt.wantError)
				}
				if !strings.Contains(err.Error(), "Can't connect to MySQL server") {
					t.Errorf("error does not carry sysbench's FATAL lines: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for _, h := range got.Histogram {
				sum += h.Count
			}
			if len(got.Histogram) != tt.buckets {
				t.Errorf("histogram buckets = %d, want %d", len(got.Histogram), tt.buckets)
			}
			if tt.buckets > 0 && sum != got.Transactions {
				t.Errorf("histogram counts sum to %d, want the %d transactions", sum, got.Transactions)
			}
			if tt.buckets > 0 {
				// sysbench prints two decimals of the bucket value.
				if p := HistogramPercentile(got.Histogram, 99); math.Abs(p-tt.p99FromH) > 0.005 {
					t.Errorf("HistogramPercentile(99) = %v, sysbench says %v", p, tt.p99FromH)
				}
			}
			got.Histogram = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSysbenchArgs(t *testing.T) {
	t.Parallel()
	c := SysbenchConfig{Workload: "oltp_read_write", Threads: 16, Duration: 10 * time.Second, Tables: 4, TableSize: 10000,
		Endpoint: Endpoint{Host: "127.0.0.1", Port: 3307, User: "u", Password: "secret", Database: "sbtest"}}
	run := strings.Join(c.args("run"), " ")
	for _, want := range []string{"oltp_read_write ", "--threads=16", "--time=10", "--percentile=99", "--histogram=on", "--mysql-port=3307", "--tables=4", "--table-size=10000"} {
		if !strings.Contains(run, want) {
			t.Errorf("run args %q lack %q", run, want)
		}
	}
	if !strings.HasSuffix(run, " run") {
		t.Errorf("run args %q do not end in the command", run)
	}
	prep := strings.Join(c.args("prepare"), " ")
	if strings.Contains(prep, "--time") || !strings.HasSuffix(prep, " prepare") {
		t.Errorf("prepare args %q", prep)
	}
	if shown := strings.Join(redact(c.args("run")), " "); strings.Contains(shown, "secret") {
		t.Errorf("redact left the password in %q", shown)
	}
}
