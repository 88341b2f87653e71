// Command ledgerbench measures how fast a Coffer ledger verifies: it builds
// a ledger of -entries transactions (one small row each, a signed root every
// -sign-every entries) in a throw-away store, then times DB.VerifyLedger on
// the store opened as coffer ledger verify opens it, receipt generation
// (DB.Receipt, opened as a serving node opens it) and receipt verification
// (Receipt.Verify).
//
//	go run ./bench/ledgerbench -entries 1000000
//
// A store just built still has compactions pending; to time a store at
// rest, build it once with -dir and time it again with -dir and -reuse.
//
// Unlike the rest of bench/, which measures Coffer over the wire, it calls
// storage directly: verification runs offline, on a stopped node's store.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/cofferdb/coffer/storage"
	"github.com/cofferdb/coffer/storage/ledger"
)

// config is the benchmark's settings.
type config struct {
	entries    int
	signEvery  int
	rowBytes   int
	receipts   int
	dir        string
	reuse      bool
	cpuProfile string
	cacheSize  int64
}

func (c *config) validate() error {
	if c.entries < 1 || c.signEvery < 1 || c.rowBytes < 0 || c.receipts < 0 {
		return errors.New("-entries and -sign-every must be positive, -row-bytes and -receipts not negative")
	}
	if c.reuse && c.dir == "" {
		return errors.New("-reuse needs -dir")
	}
	return nil
}

func main() {
	var c config
	flag.IntVar(&c.entries, "entries", 1_000_000, "ledger entries (transactions) to build and verify")
	flag.IntVar(&c.signEvery, "sign-every", 1000, "entries per signed root")
	flag.IntVar(&c.rowBytes, "row-bytes", 100, "bytes of the one row each transaction writes")
	flag.IntVar(&c.receipts, "receipts", 20000, "receipts to generate and verify")
	flag.StringVar(&c.dir, "dir", "", "store directory (default: a temporary one, removed at the end)")
	flag.BoolVar(&c.reuse, "reuse", false, "verify the ledger already built in -dir instead of building one")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of VerifyLedger to this file")
	flag.Int64Var(&c.cacheSize, "cache-size", storage.VerifyCacheSize, "block cache in bytes of the store opened for verification (default: as coffer ledger verify opens it)")
	flag.Parse()
	if err := c.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "ledgerbench:", err)
		os.Exit(2)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "ledgerbench:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	if c.dir == "" {
		tmp, err := os.MkdirTemp("", "ledgerbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		c.dir = tmp
	}
	fmt.Printf("ledgerbench: %d entries, a signature every %d, %d-byte rows, GOMAXPROCS %d, %s\n",
		c.entries, c.signEvery, c.rowBytes, runtime.GOMAXPROCS(0), runtime.Version())
	build := build
	if c.reuse {
		build = reuse
	}
	svc, err := build(c)
	if err != nil {
		return err
	}
	db, err := openVerify(c.dir, c.cacheSize)
	if err != nil {
		return err
	}
	if c.reuse {
		c.entries = int(db.AppliedSeq())
	}
	err = timeVerify(c, db, svc)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil || c.receipts == 0 {
		return err
	}
	// Receipts come from a serving node's store.
	if db, err = open(c.dir); err != nil {
		return err
	}
	defer db.Close()
	return timeReceipts(c, db, svc)
}

func open(dir string) (*storage.DB, error) {
	cfg := storage.DefaultConfig(filepath.Join(dir, "db"))
	cfg.NoSync = true
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return storage.Open(cfg)
}

// openVerify opens the built store as coffer ledger verify does (but with
// the given block cache).
func openVerify(dir string, cacheSize int64) (*storage.DB, error) {
	cfg := storage.DefaultConfig(filepath.Join(dir, "db"))
	cfg.VerifyOnly = true
	cfg.CacheSize = cacheSize
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return storage.Open(cfg)
}

// build writes the ledger and closes the store, as verification runs on a
// stopped node's data dir.
func build(c config) (*ledger.Identity, error) {
	svc, err := ledger.NewServiceIdentity("ledgerbench")
	if err != nil {
		return nil, err
	}
	if err := svc.Save(filepath.Join(c.dir, "service.pem"), filepath.Join(c.dir, "service-key.pem")); err != nil {
		return nil, err
	}
	node, err := ledger.NewNodeIdentity("n1", svc)
	if err != nil {
		return nil, err
	}
	db, err := open(c.dir)
	if err != nil {
		return nil, err
	}
	// Signatures are asked for explicitly, so that there is exactly one
	// every signEvery entries.
	if err := db.StartSigner(storage.SignerConfig{Identity: node, Every: time.Hour, MaxUnsigned: 1 << 62}); err != nil {
		db.Close()
		return nil, err
	}
	start := time.Now()
	value := make([]byte, c.rowBytes)
	for i := 1; i <= c.entries; i++ {
		key, err := storage.AppendKeyValue(storage.TablePrefix(1), int64(i))
		if err != nil {
			db.Close()
			return nil, err
		}
		copy(value, fmt.Sprintf("row %d", i))
		ws := &storage.WriteSet{Mutations: []storage.Mutation{{Key: key, Value: value}}}
		seq, err := db.Apply(ws, db.ReadSeq(), storage.Commit{Principal: "bench"})
		if err != nil {
			db.Close()
			return nil, err
		}
		if i%c.signEvery == 0 && !db.WaitSigned(seq, time.Minute) {
			db.Close()
			return nil, fmt.Errorf("no signature over seq %d", seq)
		}
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	el := time.Since(start)
	fmt.Printf("build:   %d entries in %s (%.0f commits/s, NoSync)\n", c.entries, el.Round(time.Millisecond), float64(c.entries)/el.Seconds())
	return svc, nil
}

// reuse loads the service identity of a ledger an earlier run built.
func reuse(c config) (*ledger.Identity, error) {
	return ledger.LoadIdentity(filepath.Join(c.dir, "service.pem"), filepath.Join(c.dir, "service-key.pem"))
}

func timeVerify(c config, db *storage.DB, svc *ledger.Identity) error {
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
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
	n := float64(report.Entries)
	fmt.Printf("verify:  %s in %s: %.1f M entries/min, %.0f entries/s (target 30 M/min); %.0f entries per CPU second\n",
		report, el.Round(time.Millisecond), n/el.Minutes()/1e6, n/el.Seconds(), n/cpu.Seconds())
	if chainDone > 0 {
		fmt.Printf("         chain, leaf hashes, Merkle roots and signatures %s; stored Merkle nodes and row versions %s\n",
			chainDone.Round(time.Millisecond), (el - chainDone).Round(time.Millisecond))
	}
	fmt.Printf("         CPU %s (%.0f%% of %d cores), allocated %d MiB, peak RSS %d MiB\n", cpu.Round(time.Millisecond),
		100*cpu.Seconds()/el.Seconds()/float64(runtime.GOMAXPROCS(0)), runtime.GOMAXPROCS(0), (after.TotalAlloc-before.TotalAlloc)>>20, maxRSS()>>20)
	return nil
}

func timeReceipts(c config, db *storage.DB, svc *ledger.Identity) error {
	if c.receipts == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(1, 2))
	receipts := make([]*ledger.Receipt, c.receipts)
	cpu := cpuTime()
	start := time.Now()
	for i := range receipts {
		seq := 1 + rng.Uint64N(uint64(c.entries))
		r, err := db.Receipt(seq)
		if err != nil {
			return fmt.Errorf("receipt %d: %w", seq, err)
		}
		receipts[i] = r
	}
	el := time.Since(start)
	fmt.Printf("receipt: generated %d in %s: %.0f receipts/s (DB.Receipt, one goroutine; %.0f per CPU second)\n",
		c.receipts, el.Round(time.Millisecond), float64(c.receipts)/el.Seconds(), float64(c.receipts)/(cpuTime()-cpu).Seconds())
	cpu = cpuTime()
	start = time.Now()
	for _, r := range receipts {
		if _, err := r.Verify(svc.Cert); err != nil {
			return fmt.Errorf("receipt %d: %w", r.Entry.Seq, err)
		}
	}
	el = time.Since(start)
	fmt.Printf("receipt: verified %d in %s: %.0f receipts/s (Receipt.Verify, one goroutine; %.0f per CPU second)\n",
		c.receipts, el.Round(time.Millisecond), float64(c.receipts)/el.Seconds(), float64(c.receipts)/(cpuTime()-cpu).Seconds())
	return nil
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
