package bench

import (
	"os"
	"testing"
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
