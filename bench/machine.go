package bench

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine is what the results depend on besides the software.
type Machine struct {
	Host        string  `json:"host"`
	CPUModel    string  `json:"cpu_model"`
	Cores       int     `json:"cores"`
	MemoryGiB   float64 `json:"memory_gib"`
	Kernel      string  `json:"kernel"`
	OS          string  `json:"os"`
	GoVersion   string  `json:"go_version"`
	LoadAtStart string  `json:"load_at_start"`
}

func machineFacts() Machine {
	host, _ := os.Hostname()
	return Machine{
		Host:        host,
		CPUModel:    procField("/proc/cpuinfo", "model name", ":"),
		Cores:       runtime.NumCPU(),
		MemoryGiB:   memTotalGiB(),
		Kernel:      readTrim("/proc/sys/kernel/osrelease"),
		OS:          strings.Trim(procField("/etc/os-release", "PRETTY_NAME", "="), `"`),
		GoVersion:   runtime.Version(),
		LoadAtStart: loadAvg(),
	}
}

// loadAvg is the 1, 5 and 15 minute load average.
func loadAvg() string {
	f := strings.Fields(readTrim("/proc/loadavg"))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// procField returns the value of the first "key<sep>value" line in path.
func procField(path, key, sep string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func memTotalGiB() float64 {
	f := strings.Fields(procField("/proc/meminfo", "MemTotal", ":"))
	if len(f) == 0 {
		return 0
	}
	kb, _ := strconv.ParseFloat(f[0], 64)
	return float64(int(kb/1024/1024*10+0.5)) / 10
}
