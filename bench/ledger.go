package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/cofferdb/coffer/storage"
	"github.com/cofferdb/coffer/storage/ledger"
)

// LedgerConfig configures the ledger workload: a ledger of Entries
// transactions (one small row each, a signed root every SignEvery entries)
// built in a throw-away store, then DB.VerifyLedger timed on the store
// opened as `coffer ledger verify` opens it, receipt generation
// (DB.Receipt, on the store opened as a serving node opens it) and receipt
// verification (Receipt.Verify).
//
// Unlike the other workloads, which measure Coffer over the wire, it calls
// storage directly: verification runs offline, on a stopped node's store.
type LedgerConfig struct {
	Entries   int   // ledger entries (transactions) to build and verify
	SignEvery int   // entries per signed root
	RowBytes  int   // bytes of the one row each transaction writes
	Receipts  int   // receipts to generate and verify; 0 for none
	CacheSize int64 // block cache of the store opened for verification

	// Dir is the store's directory; "" for a temporary one, removed at
	// the end. With Reuse the ledger an earlier run built in Dir is
	// verified instead of a new one.
	Dir   string
	Reuse bool
	// CPUProfile, if set, gets a CPU profile of VerifyLedger.
	CPUProfile string
	// Log, if set, receives one line per result as it is measured (the
	// lines bench/ledgerbench prints).
	Log func(line string)
}

// DefaultLedgerConfig is the ledger workload of a full coffer-bench run,
// or with quick of a quick one: a tenth of the entries and receipts.
func DefaultLedgerConfig(quick bool) LedgerConfig {
	c := LedgerConfig{Entries: 200_000, SignEvery: 1000, RowBytes: 100, Receipts: 20_000, CacheSize: storage.VerifyCacheSize}
	if quick {
		c.Entries, c.Receipts = 20_000, 2_000
	}
	return c
}

// Validate checks the sizes.
func (c *LedgerConfig) Validate() error {
	if c.Entries < 1 || c.SignEvery < 1 || c.RowBytes < 0 || c.Receipts < 0 {
		return fmt.Errorf("%w: ledger: entries and sign-every must be positive, row bytes and receipts not negative (got %d, %d, %d, %d)",
			ErrConfig, c.Entries, c.SignEvery, c.RowBytes, c.Receipts)
	}
	if c.Reuse && c.Dir == "" {
		return fmt.Errorf("%w: ledger: reusing a ledger needs its directory", ErrConfig)
	}
	return nil
}

// LedgerTarget is the verification speed the ledger is built for, in
// entries per minute.
const LedgerTarget = 30e6

// LedgerResult is what the ledger workload measured. Rates are 0 where
// nothing was measured (a failed run, no receipts).
type LedgerResult struct {
	Entries    int    `json:"entries"` // verified: built, or found with Reuse
	SignEvery  int    `json:"sign_every"`
	RowBytes   int    `json:"row_bytes"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`

	// The build: one Apply per entry on a NoSync store; 0 with Reuse.
	BuildS           float64 `json:"build_s"`
	BuildCommitsPerS float64 `json:"build_commits_per_s"`

	// Verification: wall and CPU time of DB.VerifyLedger; of the wall
	// time, VerifyChainS went to the chain, leaf hashes, Merkle roots and
	// signatures, the rest to stored Merkle nodes and row versions (0
	// unless the entries are a multiple of 100,000: VerifyLedger reports
	// its progress every 100,000).
	VerifyReport        string  `json:"verify_report"`
	Signatures          int     `json:"signatures"`
	VerifyS             float64 `json:"verify_s"`
	VerifyChainS        float64 `json:"verify_chain_s,omitempty"`
	VerifyCPUS          float64 `json:"verify_cpu_s"`
	EntriesPerMin       float64 `json:"entries_per_min"`
	EntriesPerS         float64 `json:"entries_per_s"`
	EntriesPerCPUS      float64 `json:"entries_per_cpu_s"`
	VerifyAllocatedMiB  uint64  `json:"verify_allocated_mib"`
	PeakRSSMiB          int64   `json:"peak_rss_mib"` // of the whole process
	TargetEntriesPerMin float64 `json:"target_entries_per_min"`

	// Receipts of random entries, generated then verified on one goroutine.
	Receipts               int     `json:"receipts"`
	ReceiptGenS            float64 `json:"receipt_gen_s"`
	ReceiptsGenPerS        float64 `json:"receipts_generated_per_s"`
	ReceiptsGenPerCPUS     float64 `json:"receipts_generated_per_cpu_s"`
	ReceiptVerifyS         float64 `json:"receipt_verify_s"`
	ReceiptsVerifiedPerS   float64 `json:"receipts_verified_per_s"`
	ReceiptsVerifiedPerCPU float64 `json:"receipts_verified_per_cpu_s"`

	// OtherCPUPct is the machine share other processes used meanwhile
	// (set by coffer-bench).
	OtherCPUPct float64 `json:"other_cpu_pct"`
	// Err marks a failed run; the fields before the failure are kept.
	Err string `json:"error,omitempty"`
}

// RunLedger builds (or, with Reuse, finds) the ledger and times its
// verification and receipts. On an error it returns what it measured
// before it.
func RunLedger(ctx context.Context, c LedgerConfig) (LedgerResult, error) {
	res := LedgerResult{Entries: c.Entries, SignEvery: c.SignEvery, RowBytes: c.RowBytes, Receipts: c.Receipts,
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(), TargetEntriesPerMin: LedgerTarget}
	if err := c.Validate(); err != nil {
		return res, err
	}
	if c.Log == nil {
		c.Log = func(string) {}
	}
	if c.Dir == "" {
		tmp, err := os.MkdirTemp("", "coffer-ledger-bench-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(tmp)
		c.Dir = tmp
	}
	var svc *ledger.Identity
	var err error
	if c.Reuse {
		svc, err = ledger.LoadIdentity(filepath.Join(c.Dir, "service.pem"), filepath.Join(c.Dir, "service-key.pem"))
	} else {
		svc, err = buildLedger(ctx, c, &res)
	}
	if err != nil {
		return res, err
	}
	db, err := openLedgerVerify(c.Dir, c.CacheSize)
	if err != nil {
		return res, err
	}
	if c.Reuse {
		res.Entries = int(db.AppliedSeq())
	}
	err = timeVerify(c, db, svc, &res)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil || c.Receipts == 0 {
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	// Receipts come from a serving node's store.
	if db, err = openLedgerStore(c.Dir); err != nil {
		return res, err
	}
	defer db.Close()
	return res, timeReceipts(ctx, c, db, svc, &res)
}

func openLedgerStore(dir string) (*storage.DB, error) {
	cfg := storage.DefaultConfig(filepath.Join(dir, "db"))
	cfg.NoSync = true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return storage.Open(cfg)
}

// openLedgerVerify opens the built store as coffer ledger verify does
// (but with the given block cache).
func openLedgerVerify(dir string, cacheSize int64) (*storage.DB, error) {
	cfg := storage.DefaultConfig(filepath.Join(dir, "db"))
	cfg.VerifyOnly = true
	cfg.CacheSize = cacheSize
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return storage.Open(cfg)
}

// buildLedger writes the ledger and closes the store, as verification
// runs on a stopped node's data dir.
func buildLedger(ctx context.Context, c LedgerConfig, res *LedgerResult) (*ledger.Identity, error) {
	svc, err := ledger.NewServiceIdentity("ledgerbench")
	if err != nil {
		return nil, err
	}
	if err := svc.Save(filepath.Join(c.Dir, "service.pem"), filepath.Join(c.Dir, "service-key.pem")); err != nil {
		return nil, err
	}
	node, err := ledger.NewNodeIdentity("n1", svc)
	if err != nil {
		return nil, err
	}
	db, err := openLedgerStore(c.Dir)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*ledger.Identity, error) {
		db.Close()
		return nil, err
	}
	// Signatures are asked for explicitly, so that there is exactly one
	// every SignEvery entries.
	if err := db.StartSigner(storage.SignerConfig{Identity: node, Every: time.Hour, MaxUnsigned: 1 << 62}); err != nil {
		return fail(err)
	}
	start := time.Now()
	value := make([]byte, c.RowBytes)
	for i := 1; i <= c.Entries; i++ {
		if i%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return fail(err)
			}
		}
		key, err := storage.AppendKeyValue(storage.TablePrefix(1), int64(i))
		if err != nil {
			return fail(err)
		}
		copy(value, fmt.Sprintf("row %d", i))
		ws := &storage.WriteSet{Mutations: []storage.Mutation{{Key: key, Value: value}}}
		seq, err := db.Apply(ws, db.ReadSeq(), storage.Commit{Principal: "bench"})
		if err != nil {
			return fail(err)
		}
		if i%c.SignEvery == 0 && !db.WaitSigned(seq, time.Minute) {
			return fail(fmt.Errorf("no signature over seq %d", seq))
		}
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	el := time.Since(start)
	res.BuildS, res.BuildCommitsPerS = el.Seconds(), rate(c.Entries, el)
	c.Log(fmt.Sprintf("build:   %d entries in %s (%.0f commits/s, NoSync)", c.Entries, el.Round(time.Millisecond), res.BuildCommitsPerS))
	return svc, nil
}

func timeVerify(c LedgerConfig, db *storage.DB, svc *ledger.Identity, res *LedgerResult) error {
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cpuBefore := cpuTime()
	start := time.Now()
	var chainDone time.Duration
	report, err := db.VerifyLedger(svc.Cert, func(done, total uint64) {
		if done == total {
			chainDone = time.Since(start)
		}
	})
	el := time.Since(start)
	cpu := cpuTime() - cpuBefore
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	n := int(report.Entries)
	res.Entries, res.Signatures, res.VerifyReport = n, report.Signatures, report.String()
	res.VerifyS, res.VerifyChainS, res.VerifyCPUS = el.Seconds(), chainDone.Seconds(), cpu.Seconds()
	res.EntriesPerS, res.EntriesPerCPUS = rate(n, el), rate(n, cpu)
	res.EntriesPerMin = 60 * res.EntriesPerS
	res.VerifyAllocatedMiB = (after.TotalAlloc - before.TotalAlloc) >> 20
	res.PeakRSSMiB = maxRSS() >> 20
	c.Log(fmt.Sprintf("verify:  %s in %s: %.1f M entries/min, %.0f entries/s (target %.0f M/min); %.0f entries per CPU second",
		report, el.Round(time.Millisecond), res.EntriesPerMin/1e6, res.EntriesPerS, LedgerTarget/1e6, res.EntriesPerCPUS))
	if chainDone > 0 {
		c.Log(fmt.Sprintf("         chain, leaf hashes, Merkle roots and signatures %s; stored Merkle nodes and row versions %s",
			chainDone.Round(time.Millisecond), (el - chainDone).Round(time.Millisecond)))
	}
	procs := runtime.GOMAXPROCS(0)
	c.Log(fmt.Sprintf("         CPU %s (%.0f%% of %d cores), allocated %d MiB, peak RSS %d MiB", cpu.Round(time.Millisecond),
		finite(100*cpu.Seconds()/el.Seconds()/float64(procs)), procs, res.VerifyAllocatedMiB, res.PeakRSSMiB))
	return nil
}

func timeReceipts(ctx context.Context, c LedgerConfig, db *storage.DB, svc *ledger.Identity, res *LedgerResult) error {
	if res.Entries < 1 {
		return errors.New("receipts: the ledger has no entries")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	receipts := make([]*ledger.Receipt, c.Receipts)
	cpu := cpuTime()
	start := time.Now()
	for i := range receipts {
		if i%1000 == 999 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		seq := 1 + rng.Uint64N(uint64(res.Entries))
		r, err := db.Receipt(seq)
		if err != nil {
			return fmt.Errorf("receipt %d: %w", seq, err)
		}
		receipts[i] = r
	}
	el := time.Since(start)
	res.ReceiptGenS, res.ReceiptsGenPerS, res.ReceiptsGenPerCPUS = el.Seconds(), rate(c.Receipts, el), rate(c.Receipts, cpuTime()-cpu)
	c.Log(fmt.Sprintf("receipt: generated %d in %s: %.0f receipts/s (DB.Receipt, one goroutine; %.0f per CPU second)",
		c.Receipts, el.Round(time.Millisecond), res.ReceiptsGenPerS, res.ReceiptsGenPerCPUS))
	cpu = cpuTime()
	start = time.Now()
	for _, r := range receipts {
		if _, err := r.Verify(svc.Cert); err != nil {
			return fmt.Errorf("receipt %d: %w", r.Entry.Seq, err)
		}
	}
	el = time.Since(start)
	res.ReceiptVerifyS, res.ReceiptsVerifiedPerS, res.ReceiptsVerifiedPerCPU = el.Seconds(), rate(c.Receipts, el), rate(c.Receipts, cpuTime()-cpu)
	c.Log(fmt.Sprintf("receipt: verified %d in %s: %.0f receipts/s (Receipt.Verify, one goroutine; %.0f per CPU second)",
		c.Receipts, el.Round(time.Millisecond), res.ReceiptsVerifiedPerS, res.ReceiptsVerifiedPerCPU))
	return nil
}

// rate is n per second of d, or 0 for a d too short to measure.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// finite is v, or 0 for a value JSON cannot hold.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// runLedger runs the ledger workload of a coffer-bench run and records it
// in the report, failed or not.
func (r *runner) runLedger(ctx context.Context) error {
	if !r.cfg.Ledger {
		return nil
	}
	lc := r.cfg.LedgerBench
	lc.Log = func(line string) { r.progress("ledger %s", line) }
	r.progress("ledger: building %d entries (a signature every %d, %d-byte rows) in a throw-away store, then verifying it and %d receipts",
		lc.Entries, lc.SignEvery, lc.RowBytes, lc.Receipts)
	before := sampleCPU()
	res, err := RunLedger(ctx, lc)
	res.OtherCPUPct = otherCPUPercent(before, sampleCPU())
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // interrupted: the run stops, as with the other workloads
		}
		res.Err = tail(err.Error(), 500)
		r.progress("ledger: FAILED: %s", res.Err)
	}
	r.report.Ledger = &res
	return nil
}
