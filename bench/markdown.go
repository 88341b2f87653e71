package bench

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// systemTitle is how a system is named in tables.
var systemTitle = map[string]string{Coffer: "Coffer", CofferCluster: "Coffer 3-node", CofferNoLedger: "Coffer, ledger off", CofferReadCommitted: "Coffer, read committed", MariaDB: "MariaDB", PostgreSQL: "PostgreSQL"}

// Markdown renders the report: the ratio tables first, then every cell
// with its spread, the machine, and what is not measured yet.
func (r *Report) Markdown(chartFile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Coffer benchmark, %s on %s (%s run)\n\n", r.Started.Format("2006-01-02 15:04 MST"), r.Machine.Host, r.Mode)
	if line := r.InterferenceLine(); line != "" {
		b.WriteString(line + "\n\n")
	}
	b.WriteString(r.RatioTables("##"))
	if chartFile != "" {
		fmt.Fprintf(&b, "\n![throughput and p99 latency per system](%s)\n", chartFile)
	}
	b.WriteString(r.AloneTables("##"))
	if cells := r.cells(); len(cells) > 0 {
		b.WriteString("\n## Every cell (min / median / max over repetitions)\n\n")
		b.WriteString("| workload | threads | system | tx/s | p50 ms | p95 ms | p99 ms | errors/s | other CPU % |\n")
		b.WriteString("|---|---:|---|---|---:|---:|---:|---:|---:|\n")
		for _, c := range cells {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n",
				c.Workload, c.Threads, systemTitle[c.System], spreadText(c.TPS, 0),
				num(c.P50Ms.Median, 2), num(c.P95Ms.Median, 2), num(c.P99Ms.Median, 2),
				num(c.ErrorsPerS.Median, 1), num(c.OtherCPUPct.Max, 0))
		}
		b.WriteString("\nLatencies are medians over repetitions. \"errors/s\" counts statements the client retried or dropped (sysbench's ignored errors: write conflicts, deadlocks). \"other CPU %\" is the largest share of the machine that processes not started by the harness used during a repetition.\n")
	}
	b.WriteString("\n## Run\n\n")
	m := r.Machine
	fmt.Fprintf(&b, "- Machine: %s, %d cores (%s), %.1f GiB, kernel %s, %s; load average at start %s.\n", m.Host, m.Cores, m.CPUModel, m.MemoryGiB, m.Kernel, m.OS, m.LoadAtStart)
	for _, k := range []string{Coffer, CofferCluster, CofferNoLedger, MariaDB, PostgreSQL, "sysbench"} {
		if v, ok := r.Versions[k]; ok {
			fmt.Fprintf(&b, "- %s: `%s`\n", k, v)
		}
	}
	s := r.Settings
	fmt.Fprintf(&b, "- Repetitions: %d. Started %s, finished %s.\n", s.Reps, r.Started.Format("15:04:05"), r.Finished.Format("15:04:05 MST"))
	if len(s.SysbenchWorkloads) > 0 {
		fmt.Fprintf(&b, "- sysbench: %s at %v threads, %d tables × %d rows, %.0f s warm-up run then %.0f s measured; %s.\n",
			strings.Join(s.SysbenchWorkloads, ", "), s.Threads, s.Tables, s.TableSize, s.SysbenchWarmupS, s.SysbenchDurationS, s.SysbenchFlags)
	}
	if len(s.InsertConns) > 0 {
		fmt.Fprintf(&b, "- Durable inserts: %v connections, %.0f s warm-up then %.0f s measured; %s.\n", s.InsertConns, s.InsertWarmupS, s.InsertDurationS, s.InsertStatement)
	}
	if s.PgbenchFlags != "" {
		fmt.Fprintf(&b, "- pgbench: %s.\n", s.PgbenchFlags)
	}
	fmt.Fprintf(&b, "- Order: %s.\n", s.Order)
	if s.Retries > 0 {
		fmt.Fprintf(&b, "- A repetition during which other processes used more than %.0f%% of the machine was measured again (up to %d more times), keeping the least disturbed.\n", s.DisturbedPct, s.Retries)
	}
	indent := ""
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "%s- %s\n", indent, n)
		if strings.HasSuffix(n, ":") {
			indent = "  " // the cells a note ending in ':' introduces
		}
	}
	if len(r.Profiles) > 0 {
		b.WriteString("\n## Coffer CPU profiles (extra unmeasured runs)\n\n")
		for _, p := range r.Profiles {
			fmt.Fprintf(&b, "- %s, %d threads, %d s at %.0f tx/s: [`pprof -top -cum`](%s), [`pprof -top`](%s)\n",
				p.Workload, p.Threads, p.Seconds, p.TPS, filepath.Base(p.TopCum), filepath.Base(p.Top))
		}
	}
	b.WriteString("\n## Not measured yet\n\n")
	for _, p := range r.Placeholders {
		fmt.Fprintf(&b, "- %s: added with %s.\n", p.Workload, p.Waits)
	}
	return b.String()
}

// InterferenceLine says how disturbed the run was, or nothing if it was not.
func (r *Report) InterferenceLine() string {
	in := r.Interference()
	switch {
	case math.IsNaN(in.Max) || in.Max <= 10:
		return ""
	case in.Median > 10:
		return fmt.Sprintf("**Disturbed run:** other work on the machine used a median %.0f%% (up to %.0f%%) of its CPU during the measured repetitions, so every system's absolute numbers are low and the ratios carry that uncertainty (\"other CPU %%\" per cell below).", in.Median, in.Max)
	}
	return fmt.Sprintf("**Partly disturbed:** other work on the machine used a median %.0f%% of its CPU during the measured repetitions, but up to %.0f%% in some cells (\"other CPU %%\" per cell and the notes in the results file).", in.Median, in.Max)
}

// RatioTables renders the Coffer/peer ratios by median, sysbench and
// durable inserts apart, under headings of the given level ("##").
func (r *Report) RatioTables(h string) string {
	var b strings.Builder
	var sb, sbPG, ins, ledgerCost, pgb []RatioRow
	for _, row := range r.Ratios {
		switch {
		case row.Workload == "durable_insert":
			ins = append(ins, row)
		case row.Workload == PgbenchWorkload:
			pgb = append(pgb, row)
		case row.Peer == CofferNoLedger:
			ledgerCost = append(ledgerCost, row)
		case strings.HasPrefix(row.Workload, pgWorkloadPrefix):
			sbPG = append(sbPG, row)
		default:
			sb = append(sb, row)
		}
	}
	if len(sb) > 0 {
		fmt.Fprintf(&b, "%s sysbench on the MySQL wire: Coffer / MariaDB (median of %d)\n\n", h, r.Settings.Reps)
		b.WriteString("| workload | threads | Coffer tx/s | MariaDB tx/s | tx/s ratio | p99 ratio |\n|---|---:|---:|---:|---:|---:|\n")
		for _, row := range sb {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | **%s** | %s |\n", row.Workload, row.Threads,
				numPtr(row.CofferTPS, 0), numPtr(row.PeerTPS, 0), numPtr(row.TPSRatio, 2), numPtr(row.P99Ratio, 2))
		}
		b.WriteString("\ntx/s ratio above 1: Coffer is faster. p99 ratio above 1: Coffer's tail latency is longer.\n")
	}
	if len(sbPG) > 0 {
		fmt.Fprintf(&b, "\n%s sysbench on the Postgres wire: Coffer / PostgreSQL (median of %d)\n\n", h, r.Settings.Reps)
		b.WriteString("| workload | threads | Coffer tx/s | PostgreSQL tx/s | tx/s ratio | p99 ratio |\n|---|---:|---:|---:|---:|---:|\n")
		for _, row := range sbPG {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | **%s** | %s |\n", strings.TrimPrefix(row.Workload, pgWorkloadPrefix), row.Threads,
				numPtr(row.CofferTPS, 0), numPtr(row.PeerTPS, 0), numPtr(row.TPSRatio, 2), numPtr(row.P99Ratio, 2))
		}
	}
	if len(ledgerCost) > 0 {
		fmt.Fprintf(&b, "\n%s The ledger's cost on the commit path: Coffer / Coffer with the ledger off (median of %d)\n\n", h, r.Settings.Reps)
		b.WriteString("| workload | threads | ledger on tx/s | ledger off tx/s | tx/s ratio | p99 ratio |\n|---|---:|---:|---:|---:|---:|\n")
		for _, row := range ledgerCost {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | **%s** | %s |\n", row.Workload, row.Threads,
				numPtr(row.CofferTPS, 0), numPtr(row.PeerTPS, 0), numPtr(row.TPSRatio, 2), numPtr(row.P99Ratio, 2))
		}
	}
	b.WriteString(r.pgbenchTable(h, pgb))
	if len(r.Inserts) > 0 {
		fmt.Fprintf(&b, "\n%s Durable single-row INSERT transactions (median of %d)\n\n", h, r.Settings.Reps)
		b.WriteString("| connections | system | tx/s (min / median / max) | p50 ms | p99 ms |\n|---:|---|---|---:|---:|\n")
		for _, c := range r.Inserts {
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s |\n", c.Threads, systemTitle[c.System], spreadText(c.TPS, 0), num(c.P50Ms.Median, 2), num(c.P99Ms.Median, 2))
		}
		if len(ins) > 0 {
			b.WriteString("\n| connections | Coffer | peer | Coffer/peer tx/s | Coffer/peer p99 |\n|---:|---|---|---:|---:|\n")
			for _, row := range ins {
				fmt.Fprintf(&b, "| %d | %s | %s | **%s** | %s |\n", row.Threads, systemTitle[row.System], systemTitle[row.Peer], numPtr(row.TPSRatio, 2), numPtr(row.P99Ratio, 2))
			}
		}
	}
	return b.String()
}

// AloneTables renders the workloads that measure Coffer alone, ledger
// verification and receipts and policy overhead, under headings of the
// given level; empty when neither ran.
func (r *Report) AloneTables(h string) string {
	var b strings.Builder
	if l := r.Ledger; l != nil {
		fmt.Fprintf(&b, "\n%s Ledger verification and receipts (Coffer alone, in process)\n\n", h)
		fmt.Fprintf(&b, "A ledger of %s entries (one %d-byte row each, a signed root every %s) built in a throw-away store",
			thousands(float64(l.Entries), 0), l.RowBytes, thousands(float64(l.SignEvery), 0))
		if l.BuildS > 0 {
			fmt.Fprintf(&b, " in %.1f s (%s commits/s, no fsync)", l.BuildS, thousands(l.BuildCommitsPerS, 0))
		}
		fmt.Fprintf(&b, ", then verified as `coffer ledger verify` opens it; receipts of %s random entries, generated and verified on one goroutine. GOMAXPROCS %d, %s.\n\n",
			thousands(float64(l.Receipts), 0), l.GOMAXPROCS, l.GoVersion)
		if l.VerifyS > 0 {
			b.WriteString("| measurement | rate | time |\n|---|---:|---:|\n")
			fmt.Fprintf(&b, "| ledger verification (`DB.VerifyLedger`) | **%s M entries/min** (%s entries/s; %s per CPU second) | %.2f s wall, %.2f s CPU |\n",
				num(l.EntriesPerMin/1e6, 1), thousands(l.EntriesPerS, 0), thousands(l.EntriesPerCPUS, 0), l.VerifyS, l.VerifyCPUS)
			if l.ReceiptGenS > 0 {
				fmt.Fprintf(&b, "| receipt generation (`DB.Receipt`) | **%s receipts/s** (%s per CPU second) | %.2f s |\n",
					thousands(l.ReceiptsGenPerS, 0), thousands(l.ReceiptsGenPerCPUS, 0), l.ReceiptGenS)
			}
			if l.ReceiptVerifyS > 0 {
				fmt.Fprintf(&b, "| receipt verification (`Receipt.Verify`) | **%s receipts/s** (%s per CPU second) | %.2f s |\n",
					thousands(l.ReceiptsVerifiedPerS, 0), thousands(l.ReceiptsVerifiedPerCPU, 0), l.ReceiptVerifyS)
			}
			fmt.Fprintf(&b, "\nTarget for verification: %s M entries/min. Verification allocated %d MiB; other processes used %.0f%% of the machine meanwhile.\n",
				num(l.TargetEntriesPerMin/1e6, 0), l.VerifyAllocatedMiB, l.OtherCPUPct)
		}
		if l.Err != "" {
			fmt.Fprintf(&b, "\n**Failed:** %s\n", l.Err)
		}
	}
	if p := r.Policy; p != nil {
		fmt.Fprintf(&b, "\n%s Policy overhead: the same queries with and without a row policy (Coffer alone)\n\n", h)
		fmt.Fprintf(&b, "One %s-row table, one user, %d rounds alternating the policy `%s` (every row passes it, so both states return the same rows) with no policy: %d filtered full scans and %.0f s of primary-key point selects on one connection per state and round.\n\n",
			thousands(float64(p.Rows), 0), p.Rounds, p.Policy, p.ScanReps, p.PointS)
		if p.Err == "" {
			fmt.Fprintf(&b, "| query | no policy | policy | policy / no policy | ≤ %.2f |\n|---|---:|---:|---:|---|\n", p.Target)
			row := func(name, open, pol string, ratio *float64) {
				r := numPtr(ratio, 3)
				if ratio != nil {
					r = "**" + r + "**"
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, open, pol, r, meets(ratio, p.Target))
			}
			row("filtered scan, median wall time", num(p.ScanOpenMs, 0)+" ms", num(p.ScanPolicyMs, 0)+" ms", p.ScanRatio)
			row("point selects, 1 connection", thousands(p.PointOpenQPS, 0)+"/s", thousands(p.PointPolicyQPS, 0)+"/s", p.PointRatio)
			row("server CPU per filtered scan", num(p.ScanCPUOpenMs, 0)+" ms", num(p.ScanCPUPolicyMs, 0)+" ms", p.ScanCPURatio)
			row("server CPU per point select", num(p.PointCPUOpenUs, 0)+" µs", num(p.PointCPUPolicyUs, 0)+" µs", p.PointCPURatio)
			fmt.Fprintf(&b, "\nAbove 1 the policy costs (point selects: queries/s without over queries/s with). Other processes used %.0f%% of the machine meanwhile; on a busy machine the wall-time ratios mostly show noise, the server CPU ratios less so.\n", p.OtherCPUPct)
		} else {
			fmt.Fprintf(&b, "**Failed:** %s\n", p.Err)
		}
	}
	return b.String()
}

// meets says whether a ratio is within the target.
func meets(ratio *float64, target float64) string {
	switch {
	case ratio == nil:
		return "n/a"
	case *ratio <= target:
		return "yes"
	}
	return "**no**"
}

// thousands formats v with prec decimals and commas between thousands.
func thousands(v float64, prec int) string {
	s := num(v, prec)
	if s == "n/a" {
		return s
	}
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var out []byte
	for i := range len(intPart) {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, intPart[i])
	}
	if hasFrac {
		return sign + string(out) + "." + frac
	}
	return sign + string(out)
}

func spreadText(s Spread, prec int) string {
	return fmt.Sprintf("%s / %s / %s", num(s.Min, prec), num(s.Median, prec), num(s.Max, prec))
}

func num(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

func numPtr(v *float64, prec int) string {
	if v == nil {
		return "n/a"
	}
	return num(*v, prec)
}

// Result markers in the README between which the latest table goes.
const (
	readmeBegin = "<!-- bench results: begin (written by coffer-bench) -->"
	readmeEnd   = "<!-- bench results: end -->"
)

// updateReadme replaces the text between the result markers of path.
func updateReadme(path, content string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, readmeBegin), strings.Index(s, readmeEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %q … %q markers", path, readmeBegin, readmeEnd)
	}
	s = s[:i+len(readmeBegin)] + "\n" + content + "\n" + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
