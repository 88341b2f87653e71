package main

import (
	"os"
	"testing"
)

// TestParseFlagsCofferAlone: the ledger and policy workloads are on by
// default, in full and quick runs, and their flags reach the config.
func TestParseFlagsCofferAlone(t *testing.T) {
	bin := os.Args[0] // any existing file
	for _, args := range [][]string{{}, {"-quick"}} {
		cfg, _, err := parseFlags(append([]string{"-coffer-bin", bin}, args...))
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		wantEntries := 200_000
		if len(args) > 0 {
			wantEntries = 20_000
		}
		if !cfg.Ledger || !cfg.Policy || cfg.LedgerBench.Entries != wantEntries || cfg.PolicyBench.Rows != 100_000 {
			t.Errorf("%v: ledger %v (%d entries), policy %v (%d rows)", args, cfg.Ledger, cfg.LedgerBench.Entries, cfg.Policy, cfg.PolicyBench.Rows)
		}
	}
	cfg, _, err := parseFlags([]string{"-coffer-bin", bin, "-quick", "-ledger-entries", "5000", "-ledger-receipts", "0", "-policy-rows", "1000", "-policy-rounds", "2"})
	if err != nil {
		t.Fatal(err)
	}
	if l, p := cfg.LedgerBench, cfg.PolicyBench; l.Entries != 5000 || l.Receipts != 0 || p.Rows != 1000 || p.Rounds != 2 {
		t.Errorf("sizes not set: ledger %+v, policy %+v", l, p)
	}
	cfg, _, err = parseFlags([]string{"-coffer-bin", bin, "-ledger=false", "-policy=false"})
	if err != nil || cfg.Ledger || cfg.Policy {
		t.Errorf("-ledger=false -policy=false: %v, %v, %v", err, cfg.Ledger, cfg.Policy)
	}
	if _, _, err := parseFlags([]string{"-coffer-bin", bin, "-policy-rows", "-5", "-ledger-entries", "-1"}); err != nil {
		t.Errorf("non-positive sizes are ignored, as other size flags are: %v", err)
	}
	if _, _, err := parseFlags([]string{"-coffer-bin", "/nonexistent/coffer", "-systems", "mariadb"}); err == nil {
		t.Error("policy workload without a coffer binary: no error")
	}
	if _, _, err := parseFlags([]string{"-coffer-bin", "/nonexistent/coffer", "-systems", "mariadb", "-policy=false"}); err != nil {
		t.Errorf("MariaDB alone, no policy workload: %v", err)
	}
}
