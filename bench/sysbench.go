package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// SysbenchWorkloads are the sysbench OLTP scripts the harness runs, in order.
var SysbenchWorkloads = []string{"oltp_point_select", "oltp_read_only", "oltp_read_write", "oltp_write_only"}

// ErrSysbenchOutput is returned when sysbench's output has no result block,
// usually because the run failed; the error carries its FATAL lines.
var ErrSysbenchOutput = errors.New("bench: sysbench printed no results")

// SysbenchResult is what one `sysbench … run` reports.
type SysbenchResult struct {
	Transactions  int64
	TPS           float64
	QPS           float64
	IgnoredErrors int64 // deadlocks and conflicts sysbench retried (1213, 1205, 1020)
	Reconnects    int64
	TotalTime     time.Duration
	AvgMs         float64
	MaxMs         float64
	Percentile    int     // the percentile sysbench was asked for (--percentile)
	PercentileMs  float64 // its value
	Histogram     []HistogramBucket
}

// HistogramBucket is one line of sysbench's --histogram output: Count
// events took about ValueMs.
type HistogramBucket struct {
	ValueMs float64
	Count   int64
}

var (
	reTransactions = regexp.MustCompile(`^\s*transactions:\s+(\d+)\s+\(([\d.]+) per sec\.\)`)
	reQueries      = regexp.MustCompile(`^\s*queries:\s+(\d+)\s+\(([\d.]+) per sec\.\)`)
	reIgnored      = regexp.MustCompile(`^\s*ignored errors:\s+(\d+)`)
	reReconnects   = regexp.MustCompile(`^\s*reconnects:\s+(\d+)`)
	reTotalTime    = regexp.MustCompile(`^\s*total time:\s+([\d.]+)s`)
	reAvg          = regexp.MustCompile(`^\s*avg:\s+([\d.]+)`)
	reMax          = regexp.MustCompile(`^\s*max:\s+([\d.]+)`)
	rePercentile   = regexp.MustCompile(`^\s*(\d+)th percentile:\s+([\d.]+)`)
	reBucket       = regexp.MustCompile(`^\s*([\d.]+)\s+\|\**\s+(\d+)\s*$`)
)

// ParseSysbench reads the report sysbench 1.0 prints after a run.
func ParseSysbench(out string) (SysbenchResult, error) {
	var r SysbenchResult
	found := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := reBucket.FindStringSubmatch(line); m != nil {
			r.Histogram = append(r.Histogram, HistogramBucket{ValueMs: atof(m[1]), Count: atoi(m[2])})
			continue
		}
		switch {
		case match(reTransactions, line, func(m []string) { r.Transactions, r.TPS = atoi(m[1]), atof(m[2]) }):
			found = true
		case match(reQueries, line, func(m []string) { r.QPS = atof(m[2]) }):
		case match(reIgnored, line, func(m []string) { r.IgnoredErrors = atoi(m[1]) }):
		case match(reReconnects, line, func(m []string) { r.Reconnects = atoi(m[1]) }):
		case match(reTotalTime, line, func(m []string) { r.TotalTime = time.Duration(atof(m[1]) * float64(time.Second)) }):
		case match(reAvg, line, func(m []string) { r.AvgMs = atof(m[1]) }):
		case match(reMax, line, func(m []string) { r.MaxMs = atof(m[1]) }):
		case match(rePercentile, line, func(m []string) { r.Percentile, r.PercentileMs = int(atoi(m[1])), atof(m[2]) }):
		}
	}
	if !found {
		return r, fmt.Errorf("%w: %s", ErrSysbenchOutput, fatalLines(out))
	}
	return r, nil
}

// HistogramPercentile returns the p-th percentile of a sysbench histogram
// the way sysbench computes its own (sb_histogram.c): the first bucket at
// which the cumulative count reaches p% of all events, rounded to the
// nearest event. NaN for an empty histogram.
func HistogramPercentile(h []HistogramBucket, p float64) float64 {
	var total int64
	for _, b := range h {
		total += b.Count
	}
	if total == 0 {
		return math.NaN()
	}
	need := max(int64(math.Floor(p/100*float64(total)+0.5)), 1)
	var seen int64
	for _, b := range h {
		seen += b.Count
		if seen >= need {
			return b.ValueMs
		}
	}
	return h[len(h)-1].ValueMs
}

func match(re *regexp.Regexp, line string, set func([]string)) bool {
	m := re.FindStringSubmatch(line)
	if m == nil {
		return false
	}
	set(m)
	return true
}

func atof(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
func atoi(s string) int64   { v, _ := strconv.ParseInt(s, 10, 64); return v }

// fatalLines returns sysbench's FATAL lines, or the tail of its output.
func fatalLines(out string) string {
	var fatal []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "FATAL") || strings.Contains(l, "error") {
			fatal = append(fatal, strings.TrimSpace(l))
		}
	}
	if len(fatal) == 0 {
		return tail(out, 400)
	}
	return tail(strings.Join(fatal, "; "), 600)
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// SysbenchConfig is one sysbench invocation against a MySQL-wire endpoint.
type SysbenchConfig struct {
	Workload  string
	Threads   int
	Duration  time.Duration
	Tables    int
	TableSize int
	Endpoint  Endpoint
}

func (c SysbenchConfig) args(command string) []string {
	e := c.Endpoint
	args := []string{c.Workload}
	if e.Wire == WirePostgres {
		args = append(args, pgsqlArgs(e)...)
	} else {
		args = append(args,
			"--db-driver=mysql",
			"--mysql-host="+e.Host,
			"--mysql-port="+strconv.Itoa(e.Port),
			"--mysql-user="+e.User,
			"--mysql-password="+e.Password,
			"--mysql-db="+e.Database)
	}
	args = append(args,
		"--tables="+strconv.Itoa(c.Tables),
		"--table-size="+strconv.Itoa(c.TableSize),
		"--threads="+strconv.Itoa(c.Threads))
	if command == "run" {
		args = append(args,
			"--time="+strconv.Itoa(int(c.Duration.Seconds())),
			"--events=0",
			"--percentile=99",
			"--histogram=on",
			"--report-interval=0",
		)
	}
	return append(args, command)
}

// runSysbench runs sysbench with args and returns its combined output.
func runSysbench(ctx context.Context, args []string) (string, error) {
	out, err := exec.CommandContext(ctx, "sysbench", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("sysbench %s: %w: %s", strings.Join(redact(args), " "), err, fatalLines(string(out)))
	}
	return string(out), nil
}

// redact hides the password in a command line shown in errors.
func redact(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		for _, flag := range []string{"--mysql-password=", "--pgsql-password="} {
			if strings.HasPrefix(a, flag) {
				a = flag + "…"
			}
		}
		out[i] = a
	}
	return out
}
