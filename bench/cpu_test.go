package bench

import (
	"math"
	"os"
	"runtime"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		pid     int
		want    procStat
		wantBad bool
	}{
		{
			name: "plain",
			in:   "1234 (mariadbd) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 30 0 100 0 0",
			pid:  1234, want: procStat{ppid: 1, ticks: 250 + 50 + 7 + 3},
		},
		{
			name: "name with spaces and parentheses",
			in:   "77 (a (b) c) R 9 77 77 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 5 0 0",
			pid:  77, want: procStat{ppid: 9, ticks: 10},
		},
		{name: "truncated", in: "5 (x) S 1 2 3", wantBad: true},
		{name: "garbage", in: "hello", wantBad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pid, got, ok := parseProcStat(tt.in)
			if ok == tt.wantBad {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			if pid != tt.pid || got != tt.want {
				t.Errorf("got pid %d %+v, want %d %+v", pid, got, tt.pid, tt.want)
			}
		})
	}
}

func TestCPUSampling(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc")
	}
	a := sampleCPU()
	if a.machine == 0 {
		t.Fatal("machine busy ticks = 0")
	}
	b := sampleCPU()
	if p := otherCPUPercent(a, b); p < 0 || p > 100 {
		t.Errorf("otherCPUPercent = %v, want within [0, 100]", p)
	}
}

func TestOtherCPUPercent(t *testing.T) {
	t.Parallel()
	cpus := float64(runtime.NumCPU())
	at := time.Unix(1000, 0)
	sample := func(d time.Duration, machine, ours int64) cpuSample {
		return cpuSample{at: at.Add(d), machine: machine, ours: ours}
	}
	tests := []struct {
		name string
		a, b cpuSample
		want float64
	}{
		{"idle", sample(0, 100, 10), sample(time.Second, 100, 10), 0},
		{"all ours", sample(0, 100, 10), sample(time.Second, 150, 60), 0},
		{"half the machine", sample(0, 100, 0), sample(time.Second, 100+int64(50*cpus), 0), 50},
		// A window of a few milliseconds that saw one whole tick of
		// someone else's work: the raw share is far above 100.
		{"short window overshoot", sample(0, 100, 0), sample(time.Millisecond, 101, 0), 100},
		// Our tree's counter moved more than the machine's (read later).
		{"ours read later", sample(0, 100, 0), sample(time.Second, 110, 20), 0},
		{"no time passed", sample(0, 100, 0), sample(0, 200, 0), 0},
		{"unreadable /proc/stat", sample(0, 0, 0), sample(time.Second, 0, 0), 0},
	}
	for _, tt := range tests {
		if got := otherCPUPercent(tt.a, tt.b); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: otherCPUPercent = %v, want %v", tt.name, got, tt.want)
		}
	}
}
