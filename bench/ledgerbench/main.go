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
// The measurement is bench.RunLedger, which `make bench` (coffer-bench)
// also runs, with fewer entries (its -ledger-entries, -ledger-receipts).
// Unlike the rest of bench/, which measures Coffer over the wire, it calls
// storage directly: verification runs offline, on a stopped node's store.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/cofferdb/coffer/bench"
	"github.com/cofferdb/coffer/storage"
)

func validate(c bench.LedgerConfig) error {
	if c.Entries < 1 || c.SignEvery < 1 || c.RowBytes < 0 || c.Receipts < 0 {
		return errors.New("-entries and -sign-every must be positive, -row-bytes and -receipts not negative")
	}
	if c.Reuse && c.Dir == "" {
		return errors.New("-reuse needs -dir")
	}
	return nil
}

func main() {
	var c bench.LedgerConfig
	flag.IntVar(&c.Entries, "entries", 1_000_000, "ledger entries (transactions) to build and verify")
	flag.IntVar(&c.SignEvery, "sign-every", 1000, "entries per signed root")
	flag.IntVar(&c.RowBytes, "row-bytes", 100, "bytes of the one row each transaction writes")
	flag.IntVar(&c.Receipts, "receipts", 20000, "receipts to generate and verify")
	flag.StringVar(&c.Dir, "dir", "", "store directory (default: a temporary one, removed at the end)")
	flag.BoolVar(&c.Reuse, "reuse", false, "verify the ledger already built in -dir instead of building one")
	flag.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of VerifyLedger to this file")
	flag.Int64Var(&c.CacheSize, "cache-size", storage.VerifyCacheSize, "block cache in bytes of the store opened for verification (default: as coffer ledger verify opens it)")
	flag.Parse()
	if err := validate(c); err != nil {
		fmt.Fprintln(os.Stderr, "ledgerbench:", err)
		os.Exit(2)
	}
	fmt.Printf("ledgerbench: %d entries, a signature every %d, %d-byte rows, GOMAXPROCS %d, %s\n",
		c.Entries, c.SignEvery, c.RowBytes, runtime.GOMAXPROCS(0), runtime.Version())
	c.Log = func(line string) { fmt.Println(line) }
	if _, err := bench.RunLedger(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "ledgerbench:", err)
		os.Exit(1)
	}
}
