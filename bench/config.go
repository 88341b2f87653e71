package bench

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// Modes of a run.
const (
	ModeFull  = "full"
	ModeQuick = "quick"
)

// Config is what a benchmark run measures and where it writes.
type Config struct {
	Mode      string // ModeFull or ModeQuick; names the output files
	CofferBin string // a built `coffer` binary
	OutDir    string
	Reps      int
	Systems   []string // of Coffer, CofferCluster, CofferNoLedger, MariaDB, PostgreSQL

	// sysbench on the MySQL wire (Coffer vs MariaDB); empty Sysbench skips it.
	Sysbench         []string
	Threads          []int
	Tables           int
	TableSize        int
	SysbenchWarmup   time.Duration // an unmeasured run before each measured one
	SysbenchDuration time.Duration

	// sysbench over the Postgres wire (Coffer vs PostgreSQL) at PGThreads;
	// empty SysbenchPG skips it.
	SysbenchPG []string
	PGThreads  []int

	// Durable single-row INSERTs (all systems); empty InsertConns skips it.
	InsertConns    []int
	InsertWarmup   time.Duration
	InsertDuration time.Duration

	// pgbench's TPC-B-like script over the Postgres wire (Coffer vs
	// PostgreSQL): pgbench -i -s PgbenchScale, then -c PgbenchClients -T
	// PgbenchDuration. Pgbench false skips it.
	Pgbench         bool
	PgbenchScale    int
	PgbenchClients  int
	PgbenchDuration time.Duration

	// Coffer alone, after the systems above have stopped; each records
	// its own failure in the report. Ledger: ledger verification speed and
	// receipt rates, in process on a throw-away store (bench/ledger.go).
	// Policy: the same queries with and without a row policy on a Coffer
	// node of its own (bench/policy.go; its CofferBin is this config's).
	// They run whatever Systems says.
	Ledger      bool
	LedgerBench LedgerConfig
	Policy      bool
	PolicyBench PolicyConfig

	// Profile captures a Coffer CPU profile under each target, in an extra
	// unmeasured run after the measured ones.
	Profile        []ProfileTarget
	ProfileSeconds int

	// Retries is how often a repetition disturbed by other work (other
	// processes above DisturbedPct of the machine) is measured again.
	Retries      int
	DisturbedPct float64

	// Install lets the harness apt-get install missing peers.
	Install bool
	// Readme, if set, gets the latest ratio table between its result
	// markers (full runs only).
	Readme string
	// Progress receives one line per step.
	Progress io.Writer
}

// DefaultConfig is the full run, about 22 minutes on a 2-core machine.
func DefaultConfig() Config {
	return Config{
		Mode:             ModeFull,
		CofferBin:        "bin/coffer",
		OutDir:           "bench/results",
		Reps:             3,
		Systems:          []string{Coffer, CofferCluster, CofferNoLedger, MariaDB, PostgreSQL},
		Sysbench:         slices.Clone(SysbenchWorkloads),
		Threads:          []int{1, 4, 16},
		Tables:           4,
		TableSize:        10000,
		SysbenchWarmup:   2 * time.Second,
		SysbenchDuration: 10 * time.Second,
		SysbenchPG:       []string{"oltp_point_select", "oltp_read_write"},
		PGThreads:        []int{4},
		InsertConns:      []int{1, 16, 64},
		InsertWarmup:     time.Second,
		InsertDuration:   5 * time.Second,
		Pgbench:          true,
		PgbenchScale:     1,
		PgbenchClients:   4,
		PgbenchDuration:  10 * time.Second,
		Ledger:           true,
		LedgerBench:      DefaultLedgerConfig(false),
		Policy:           true,
		PolicyBench:      DefaultPolicyConfig(false),
		Profile:          []ProfileTarget{{"oltp_read_write", 4}, {"oltp_point_select", 4}},
		ProfileSeconds:   10,
		Retries:          1,
		DisturbedPct:     15,
		Install:          true,
		Readme:           "bench/README.md",
		Progress:         os.Stderr,
	}
}

// QuickConfig is a smoke run of every workload, about 2½ minutes.
func QuickConfig() Config {
	c := DefaultConfig()
	c.Mode = ModeQuick
	c.Reps = 1
	c.Threads = []int{4}
	c.SysbenchPG = []string{"oltp_point_select"}
	c.SysbenchWarmup = time.Second
	c.SysbenchDuration = 5 * time.Second
	c.InsertConns = []int{1, 16}
	c.InsertDuration = 3 * time.Second
	c.Profile = nil
	c.ProfileSeconds = 5
	c.LedgerBench = DefaultLedgerConfig(true)
	c.PolicyBench = DefaultPolicyConfig(true)
	c.Retries = 0
	c.Readme = ""
	return c
}

// ErrConfig is wrapped by every validation error.
var ErrConfig = errors.New("bench: invalid config")

// Validate checks the config before anything is started.
func (c *Config) Validate() error {
	if c.Mode != ModeFull && c.Mode != ModeQuick {
		return fmt.Errorf("%w: mode %q: want %q or %q", ErrConfig, c.Mode, ModeFull, ModeQuick)
	}
	if c.Reps < 1 {
		return fmt.Errorf("%w: -reps %d: need at least 1", ErrConfig, c.Reps)
	}
	for _, s := range c.Systems {
		if s != Coffer && s != CofferCluster && s != CofferNoLedger && s != MariaDB && s != PostgreSQL {
			return fmt.Errorf("%w: system %q: want coffer, coffer-3, coffer-noledger, mariadb or postgresql", ErrConfig, s)
		}
	}
	for _, w := range append(slices.Clone(c.Sysbench), c.SysbenchPG...) {
		if !slices.Contains(SysbenchWorkloads, w) {
			return fmt.Errorf("%w: sysbench workload %q: want one of %v", ErrConfig, w, SysbenchWorkloads)
		}
	}
	if len(c.Sysbench) > 0 && (len(c.Threads) == 0 || c.Tables < 1 || c.TableSize < 1) {
		return fmt.Errorf("%w: sysbench needs -threads, -tables and -table-size", ErrConfig)
	}
	if c.SysbenchDuration < time.Second || (len(c.InsertConns) > 0 && c.InsertDuration <= 0) {
		return fmt.Errorf("%w: durations must be positive (sysbench at least 1s)", ErrConfig)
	}
	for _, n := range append(slices.Clone(c.Threads), c.InsertConns...) {
		if n < 1 {
			return fmt.Errorf("%w: thread and connection counts must be ≥ 1, got %d", ErrConfig, n)
		}
	}
	if c.Pgbench && (c.PgbenchScale < 1 || c.PgbenchClients < 1 || c.PgbenchDuration < time.Second) {
		return fmt.Errorf("%w: pgbench needs a scale and clients ≥ 1 and a duration of at least 1s", ErrConfig)
	}
	for _, p := range c.Profile {
		if !slices.Contains(SysbenchWorkloads, p.Workload) {
			return fmt.Errorf("%w: profile workload %q: want one of %v", ErrConfig, p.Workload, SysbenchWorkloads)
		}
	}
	if len(c.Profile) > 0 && c.ProfileSeconds < 1 {
		return fmt.Errorf("%w: -profile-seconds must be ≥ 1", ErrConfig)
	}
	if c.Ledger {
		if err := c.LedgerBench.Validate(); err != nil {
			return err
		}
	}
	if c.Policy {
		if err := c.PolicyBench.Validate(); err != nil {
			return err
		}
	}
	if _, err := os.Stat(c.CofferBin); err != nil && (c.has(Coffer) || c.has(CofferCluster) || c.Policy) {
		return fmt.Errorf("%w: coffer binary %s: %v (run `make build`)", ErrConfig, c.CofferBin, err)
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return nil
}

func (c *Config) has(system string) bool { return slices.Contains(c.Systems, system) }
