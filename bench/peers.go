package bench

import (
	"fmt"
	"io"
	"os"
	"os/exec"
)

// peerPackages are the Debian packages that provide the peers and sysbench
// (postgresql-contrib brings pgbench, for the TPC-B-like workload once
// Coffer speaks the Postgres wire).
var peerPackages = []string{"mariadb-server", "postgresql", "postgresql-contrib", "sysbench"}

// missingPeers lists what is not installed.
func missingPeers() []string {
	var missing []string
	if _, err := findBinary("mariadbd", "/usr/sbin/mariadbd"); err != nil {
		missing = append(missing, "mariadbd")
	}
	if _, err := postgresBinDir(); err != nil {
		missing = append(missing, "postgres")
	}
	if _, err := exec.LookPath("sysbench"); err != nil {
		missing = append(missing, "sysbench")
	}
	return missing
}

// EnsurePeers installs the peers with apt when any is missing: apt-get
// update once, then one install, through sudo unless root.
func EnsurePeers(progress io.Writer) error {
	missing := missingPeers()
	if len(missing) == 0 {
		return nil
	}
	fmt.Fprintf(progress, "installing peers (missing: %v): %v\n", missing, peerPackages)
	var prefix []string
	if os.Geteuid() != 0 {
		prefix = []string{"sudo"}
	}
	steps := [][]string{
		append(append([]string{}, prefix...), "apt-get", "update", "-qq"),
		append(append(append([]string{}, prefix...), "apt-get", "install", "-y", "-qq"), peerPackages...),
	}
	for _, s := range steps {
		cmd := exec.Command(s[0], s[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = progress, progress
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("bench: %v: %w", s, err)
		}
	}
	if still := missingPeers(); len(still) > 0 {
		return fmt.Errorf("bench: still missing after apt-get install: %v", still)
	}
	return nil
}
