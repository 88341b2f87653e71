// Command policy-bench measures what a row policy costs: a filtered scan
// of a 100,000-row table and primary key point selects, each on a table
// with a policy and on an identical one without, by the same user, as a
// ratio (see bench/README.md, "Policy overhead").
//
//	policy-bench [-quick] [-rows N] [-coffer-bin bin/coffer]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cofferdb/coffer/bench"
)

func main() {
	quick := flag.Bool("quick", false, "shorter measurements (4 rounds of 3 scans and 1 s of point selects per state)")
	rows := flag.Int("rows", 0, "rows per table (default 100000)")
	bin := flag.String("coffer-bin", "", "coffer binary (default bin/coffer; `make build`)")
	flag.Parse()
	cfg := bench.DefaultPolicyConfig(*quick)
	if *rows > 0 {
		cfg.Rows = *rows
	}
	if *bin != "" {
		cfg.CofferBin = *bin
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.RunPolicyOverhead(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "policy-bench:", err)
		os.Exit(1)
	}
	fmt.Print(res.String())
}
