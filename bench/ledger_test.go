package bench

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyLedger is a ledger workload small enough for a unit test.
func tinyLedger(dir string) LedgerConfig {
	c := DefaultLedgerConfig(true)
	c.Entries, c.SignEvery, c.Receipts, c.Dir = 2000, 100, 50, dir
	return c
}

// near reports whether a and b agree to 1%.
func near(a, b float64) bool { return math.Abs(a-b) <= 0.01*math.Max(math.Abs(a), math.Abs(b)) }

// TestRunLedger builds and verifies a small ledger, then verifies it again
// with Reuse: the results are positive and agree with each other.
func TestRunLedger(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := tinyLedger(dir)
	var lines []string
	c.Log = func(l string) { lines = append(lines, l) }
	res, err := RunLedger(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Entries != 2000 || res.Signatures != 20 || res.Receipts != 50 || res.Err != "" {
		t.Errorf("entries %d, signatures %d, receipts %d, error %q: want 2000, 20, 50, none", res.Entries, res.Signatures, res.Receipts, res.Err)
	}
	for name, v := range map[string]float64{
		"build_s": res.BuildS, "build_commits_per_s": res.BuildCommitsPerS, "verify_s": res.VerifyS,
		"entries_per_min": res.EntriesPerMin, "entries_per_s": res.EntriesPerS,
		"receipt_gen_s": res.ReceiptGenS, "receipts_generated_per_s": res.ReceiptsGenPerS,
		"receipt_verify_s": res.ReceiptVerifyS, "receipts_verified_per_s": res.ReceiptsVerifiedPerS,
	} {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s = %v, want a positive number", name, v)
		}
	}
	if !near(res.EntriesPerMin, 60*res.EntriesPerS) || !near(res.EntriesPerS, 2000/res.VerifyS) {
		t.Errorf("entries/min %v, entries/s %v, verify %v s disagree", res.EntriesPerMin, res.EntriesPerS, res.VerifyS)
	}
	if !near(res.ReceiptsGenPerS, 50/res.ReceiptGenS) || !near(res.ReceiptsVerifiedPerS, 50/res.ReceiptVerifyS) {
		t.Errorf("receipt rates %v, %v disagree with their times %v, %v", res.ReceiptsGenPerS, res.ReceiptsVerifiedPerS, res.ReceiptGenS, res.ReceiptVerifyS)
	}
	if res.VerifyChainS > res.VerifyS || !strings.HasPrefix(res.VerifyReport, "verified 2000 entries, 20 signatures") {
		t.Errorf("chain %v s of %v s; report %q", res.VerifyChainS, res.VerifyS, res.VerifyReport)
	}
	log := strings.Join(lines, "\n")
	for _, want := range []string{"build:   2000 entries in", "verify:  verified 2000 entries", "M entries/min", "receipt: generated 50 in", "receipt: verified 50 in"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}

	c = tinyLedger(dir)
	c.Reuse, c.Entries, c.Receipts = true, 1, 10 // Entries is what the store holds
	again, err := RunLedger(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if again.Entries != 2000 || again.BuildS != 0 || !(again.EntriesPerMin > 0) || !(again.ReceiptsVerifiedPerS > 0) {
		t.Errorf("reused ledger: %+v", again)
	}
}

func TestRunLedgerErrors(t *testing.T) {
	t.Parallel()
	if _, err := RunLedger(context.Background(), LedgerConfig{Entries: 0, SignEvery: 1}); !errors.Is(err, ErrConfig) {
		t.Errorf("no entries: %v", err)
	}
	c := tinyLedger("")
	c.Reuse = true
	if _, err := RunLedger(context.Background(), c); !errors.Is(err, ErrConfig) {
		t.Errorf("reuse without a directory: %v", err)
	}
	c = tinyLedger(t.TempDir())
	c.Reuse = true
	if _, err := RunLedger(context.Background(), c); err == nil {
		t.Error("reusing an empty directory: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := RunLedger(ctx, tinyLedger(t.TempDir())); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// fakeCoffer is an executable that fails as a coffer binary: the policy
// workload cannot start its node.
func fakeCoffer(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "coffer")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho broken >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunCofferAlone runs coffer-bench's Run with no systems: only the
// Coffer-alone workloads run. The ledger's numbers and the policy
// workload's failure (its node cannot start) both land in the report,
// which is written as JSON and Markdown without a chart.
func TestRunCofferAlone(t *testing.T) {
	t.Parallel()
	cfg := QuickConfig()
	cfg.Systems, cfg.Install, cfg.Progress = nil, false, nil
	cfg.CofferBin = fakeCoffer(t)
	cfg.OutDir = t.TempDir()
	cfg.LedgerBench = tinyLedger("")
	var progress strings.Builder
	cfg.Progress = &progress
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("a failed Coffer-alone workload aborted the run: %v", err)
	}
	if rep.Ledger == nil || rep.Ledger.Err != "" || rep.Ledger.Entries != 2000 || !(rep.Ledger.EntriesPerMin > 0) {
		t.Errorf("ledger: %+v", rep.Ledger)
	}
	if rep.Policy == nil || rep.Policy.Err == "" || rep.Policy.Rows != 100_000 || rep.Policy.ScanRatio != nil {
		t.Errorf("policy: %+v", rep.Policy)
	}
	for _, want := range []string{"ledger build:   2000 entries", "ledger receipt: verified 50", "policy: FAILED:"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
	w, err := WriteAll(rep, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if w.Chart != "" {
		t.Errorf("chart %s written for a run without cells", w.Chart)
	}
	md, _ := os.ReadFile(w.Markdown)
	for _, want := range []string{"## Ledger verification and receipts", "M entries/min**", "## Policy overhead", "**Failed:**"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(string(md), "Every cell") || strings.Contains(string(md), ".png") {
		t.Errorf("markdown of a run without cells has a cell table or chart:\n%s", md)
	}
	back, err := ReadReport(w.JSON)
	if err != nil || back.Ledger == nil || back.Ledger.Entries != 2000 || back.Policy == nil || back.Policy.Err != rep.Policy.Err {
		t.Errorf("report read back: %v, %+v", err, back)
	}
}

// TestCofferAloneOff: -ledger=false and -policy=false leave them out.
func TestCofferAloneOff(t *testing.T) {
	t.Parallel()
	r := &runner{cfg: Config{Progress: &strings.Builder{}, LedgerBench: LedgerConfig{}}, report: &Report{Versions: map[string]string{}}}
	if err := r.runLedger(context.Background()); err != nil || r.report.Ledger != nil {
		t.Errorf("ledger off: %v, %+v", err, r.report.Ledger)
	}
	if err := r.runPolicy(context.Background(), ""); err != nil || r.report.Policy != nil {
		t.Errorf("policy off: %v, %+v", err, r.report.Policy)
	}
	// A failing ledger workload is recorded, not returned.
	r.cfg.Ledger = true
	if err := r.runLedger(context.Background()); err != nil || r.report.Ledger == nil || r.report.Ledger.Err == "" {
		t.Errorf("invalid ledger config: %v, %+v", err, r.report.Ledger)
	}
}

// TestInterferenceNotesCofferAlone: a disturbed ledger or policy workload
// is noted; a run without cells is not called undisturbed then.
func TestInterferenceNotesCofferAlone(t *testing.T) {
	t.Parallel()
	rep := &Report{Ledger: &LedgerResult{OtherCPUPct: 3}, Policy: &PolicyRecord{OtherCPUPct: 3}}
	if notes := interferenceNotes(rep); len(notes) != 1 || !strings.HasPrefix(notes[0], "no interference") {
		t.Errorf("undisturbed: %q", notes)
	}
	rep.Ledger.OtherCPUPct, rep.Policy.OtherCPUPct = 57, 51
	notes := strings.Join(interferenceNotes(rep), "\n")
	for _, want := range []string{"ledger verification and receipts: other processes used 57%", "policy overhead: other processes used 51%"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}
