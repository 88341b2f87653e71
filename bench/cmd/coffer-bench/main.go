// Command coffer-bench measures Coffer against MariaDB and PostgreSQL on
// this machine and writes the results under bench/results (see
// bench/README.md). Run it from the repository root, or with `make bench`.
//
//	coffer-bench [-quick] [-reps N] [-out DIR] [-sysbench LIST] [-threads LIST]
//	             [-insert-conns LIST] [-pgbench=false] [-systems LIST] [-profile workload:threads,…]
//	             [-ledger=false] [-ledger-entries N] [-policy=false] [-policy-rows N]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cofferdb/coffer/bench"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, render, err := parseFlags(args)
	if err == flag.ErrHelp {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "coffer-bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	t0 := time.Now()
	var rep *bench.Report
	if render != "" {
		rep, err = bench.ReadReport(render)
	} else {
		rep, err = bench.Run(ctx, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "coffer-bench:", err)
		return 1
	}
	cfg.Mode = rep.Mode
	w, err := bench.WriteAll(rep, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "coffer-bench: writing results:", err)
		return 1
	}
	files := []string{w.JSON, w.Markdown}
	if w.Chart != "" {
		files = append(files, w.Chart)
	}
	fmt.Fprintf(os.Stderr, "done in %s: %s\n\n", time.Since(t0).Round(time.Second), strings.Join(files, ", "))
	fmt.Print(rep.RatioTables("##"))
	fmt.Print(rep.AloneTables("##"))
	return 0
}

// parseFlags returns the run's config and, with -render, the results JSON
// to render again instead of measuring.
func parseFlags(args []string) (bench.Config, string, error) {
	fs := flag.NewFlagSet("coffer-bench", flag.ContinueOnError)
	render := fs.String("render", "", "write the Markdown, chart and README table again from this results JSON, without measuring")
	quick := fs.Bool("quick", false, "a ≈2½-minute smoke run: one repetition, 4 threads, short runs, a smaller ledger")
	reps := fs.Int("reps", 0, "repetitions per cell (default 3, 1 with -quick)")
	out := fs.String("out", "", "results directory (default bench/results)")
	bin := fs.String("coffer-bin", "", "coffer binary (default bin/coffer; `make build`)")
	systems := fs.String("systems", "", "systems to run (default coffer,coffer-3,mariadb,postgresql; \"none\": only the Coffer-alone workloads, -ledger and -policy)")
	sysbenchList := fs.String("sysbench", "", "sysbench workloads, or \"none\" (default all four oltp_*)")
	sysbenchPG := fs.String("sysbench-pg", "", "sysbench workloads over the Postgres wire (Coffer vs PostgreSQL), or \"none\" (default oltp_point_select,oltp_read_write; oltp_point_select with -quick)")
	pgThreads := fs.String("pg-threads", "", "thread counts of sysbench over the Postgres wire (default 4)")
	threads := fs.String("threads", "", "sysbench thread counts (default 1,4,16; 4 with -quick)")
	tables := fs.Int("tables", 0, "sysbench tables (default 4)")
	tableSize := fs.Int("table-size", 0, "sysbench rows per table (default 10000)")
	duration := fs.Duration("duration", 0, "measured length of a sysbench run (default 10s, 5s with -quick)")
	warmup := fs.Duration("warmup", -1, "unmeasured sysbench run before each measured one (default 2s, 1s with -quick; 0 for none)")
	insertConns := fs.String("insert-conns", "", "durable insert connection counts, or \"none\" (default 1,16,64; 1,16 with -quick)")
	insertDuration := fs.Duration("insert-duration", 0, "measured length of an insert run (default 5s, 3s with -quick)")
	pgbench := fs.Bool("pgbench", true, "pgbench TPC-B-like over the Postgres wire, Coffer vs PostgreSQL (-pgbench=false skips it)")
	pgbenchClients := fs.Int("pgbench-clients", 0, "pgbench clients (-c, default 4)")
	pgbenchDuration := fs.Duration("pgbench-duration", 0, "measured length of a pgbench run (-T, default 10s)")
	pgbenchScale := fs.Int("pgbench-scale", 0, "pgbench scale factor (-i -s, default 1)")
	ledger := fs.Bool("ledger", true, "ledger verification speed and receipt rates, Coffer alone in process (-ledger=false skips it)")
	ledgerEntries := fs.Int("ledger-entries", 0, "ledger entries to build and verify (default 200000, 20000 with -quick)")
	ledgerReceipts := fs.Int("ledger-receipts", -1, "receipts to generate and verify (default 20000, 2000 with -quick; 0 for none)")
	policy := fs.Bool("policy", true, "policy overhead: the same queries with and without a row policy, on a Coffer node of its own (-policy=false skips it)")
	policyRows := fs.Int("policy-rows", 0, "rows of the policy workload's table (default 100000)")
	policyRounds := fs.Int("policy-rounds", 0, "rounds of the policy workload, each measuring both states (default 6, 4 with -quick)")
	profile := fs.String("profile", "", "Coffer CPU profiles under workload:threads,… in extra unmeasured runs, or \"none\" (default oltp_read_write:4,oltp_point_select:4; none with -quick)")
	profileSeconds := fs.Int("profile-seconds", 0, "length of each profile (default 10, 5 with -quick)")
	retries := fs.Int("retries", -1, "measure a repetition disturbed by other work again up to N times (default 1, 0 with -quick)")
	disturbed := fs.Float64("disturbed-pct", 0, "share of the machine other processes may use before a repetition counts as disturbed (default 15)")
	noInstall := fs.Bool("no-install", false, "do not apt-get install missing peers")
	readme := fs.String("readme", "", "README whose result table a full run updates (default bench/README.md; \"none\" to skip)")
	if err := fs.Parse(args); err != nil {
		return bench.Config{}, "", err
	}
	cfg := bench.DefaultConfig()
	if *quick {
		cfg = bench.QuickConfig()
	}
	setIf(&cfg.Reps, *reps, *reps > 0)
	setIf(&cfg.OutDir, *out, *out != "")
	setIf(&cfg.CofferBin, *bin, *bin != "")
	setIf(&cfg.Tables, *tables, *tables > 0)
	setIf(&cfg.TableSize, *tableSize, *tableSize > 0)
	setIf(&cfg.SysbenchDuration, *duration, *duration > 0)
	setIf(&cfg.SysbenchWarmup, *warmup, *warmup >= 0)
	setIf(&cfg.InsertDuration, *insertDuration, *insertDuration > 0)
	setIf(&cfg.ProfileSeconds, *profileSeconds, *profileSeconds > 0)
	cfg.Pgbench = *pgbench
	setIf(&cfg.PgbenchClients, *pgbenchClients, *pgbenchClients > 0)
	setIf(&cfg.PgbenchDuration, *pgbenchDuration, *pgbenchDuration > 0)
	setIf(&cfg.PgbenchScale, *pgbenchScale, *pgbenchScale > 0)
	cfg.Ledger, cfg.Policy = *ledger, *policy
	setIf(&cfg.LedgerBench.Entries, *ledgerEntries, *ledgerEntries > 0)
	setIf(&cfg.LedgerBench.Receipts, *ledgerReceipts, *ledgerReceipts >= 0)
	setIf(&cfg.PolicyBench.Rows, *policyRows, *policyRows > 0)
	setIf(&cfg.PolicyBench.Rounds, *policyRounds, *policyRounds > 0)
	setIf(&cfg.Readme, *readme, *readme != "")
	setIf(&cfg.Retries, *retries, *retries >= 0)
	setIf(&cfg.DisturbedPct, *disturbed, *disturbed > 0)
	if cfg.Readme == "none" {
		cfg.Readme = ""
	}
	cfg.Install = !*noInstall
	if *systems != "" {
		cfg.Systems = splitList(*systems)
	}
	if *sysbenchList != "" {
		cfg.Sysbench = splitList(*sysbenchList)
	}
	if *sysbenchPG != "" {
		cfg.SysbenchPG = splitList(*sysbenchPG)
	}
	var err error
	if *threads != "" {
		if cfg.Threads, err = intList("threads", *threads); err != nil {
			return cfg, "", err
		}
	}
	if *pgThreads != "" {
		if cfg.PGThreads, err = intList("pg-threads", *pgThreads); err != nil {
			return cfg, "", err
		}
	}
	if *insertConns != "" {
		if cfg.InsertConns, err = intList("insert-conns", *insertConns); err != nil {
			return cfg, "", err
		}
	}
	if *profile != "" {
		if cfg.Profile, err = bench.ParseProfileTargets(strings.ReplaceAll(*profile, "none", "")); err != nil {
			return cfg, "", err
		}
	}
	return cfg, *render, cfg.Validate()
}

func setIf[T any](dst *T, v T, ok bool) {
	if ok {
		*dst = v
	}
}

// splitList reads "a,b,c"; "none" is the empty list.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" && p != "none" {
			out = append(out, p)
		}
	}
	return out
}

func intList(name, s string) ([]int, error) {
	var out []int
	for _, p := range splitList(s) {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-%s %q: want positive integers separated by commas", name, s)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}
