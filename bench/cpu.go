package bench

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc CPU times (100 on Linux).
const clockTicks = 100

// cpuSample is a reading of the machine's busy CPU time and of the time
// spent by this process and everything it started (servers, sysbench).
type cpuSample struct {
	at      time.Time
	machine int64 // busy ticks, all CPUs
	ours    int64 // ticks of our process tree, reaped children included
}

func sampleCPU() cpuSample {
	return cpuSample{at: time.Now(), machine: machineBusyTicks(), ours: treeTicks(os.Getpid())}
}

// otherCPUPercent is the share of the machine's capacity used between two
// samples by processes the harness did not start: other people's builds
// and tests. Above a few percent the numbers of that window are disturbed.
// The kernel counts in whole ticks and the two counters are read at
// slightly different moments, so over a window of a few ticks the raw
// share can overshoot; it is clamped to [0, 100].
func otherCPUPercent(a, b cpuSample) float64 {
	wall := b.at.Sub(a.at).Seconds() * clockTicks * float64(runtime.NumCPU())
	if wall <= 0 || a.machine == 0 || b.machine == 0 {
		return 0
	}
	other := float64((b.machine - a.machine) - (b.ours - a.ours))
	return min(100, max(0, 100*other/wall))
}

// machineBusyTicks sums the non-idle fields of /proc/stat's cpu line.
func machineBusyTicks() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	// user nice system idle iowait irq softirq steal …
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return busy
}

// treeTicks is the CPU time of root and its live descendants, each with
// the time of the children it has reaped.
func treeTicks(root int) int64 {
	procs := map[int]procStat{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		pid, p, ok := parseProcStat(string(b))
		if ok {
			procs[pid] = p
		}
	}
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	var total int64
	stack := []int{root}
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		total += procs[pid].ticks
		stack = append(stack, children[pid]...)
	}
	return total
}

type procStat struct {
	ppid  int
	ticks int64 // utime + stime + cutime + cstime
}

// parseProcStat reads /proc/PID/stat; the command name may hold spaces
// and parentheses, so fields are counted from the last ')'.
func parseProcStat(s string) (int, procStat, bool) {
	open := strings.IndexByte(s, '(')
	closing := strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return 0, procStat{}, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return 0, procStat{}, false
	}
	// After ')': state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
	f := strings.Fields(s[closing+1:])
	if len(f) < 15 {
		return 0, procStat{}, false
	}
	var p procStat
	p.ppid, _ = strconv.Atoi(f[1])
	for _, i := range []int{11, 12, 13, 14} {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		p.ticks += n
	}
	return pid, p, true
}

// cpuTime returns the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxRSS returns the process's peak resident set size in bytes.
func maxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss << 10 // kilobytes on Linux
}
