package harness

import (
	"os/exec"
	"strings"
)

// VerifyLedger runs `coffer ledger verify` on the stopped node's data dir
// and returns its summary line, "verified N entries, S signatures, head
// H"; the test fails if verification does.
func (n *Node) VerifyLedger() string {
	n.t.Helper()
	if n.Running() || n.Starting() {
		n.t.Fatalf("harness: VerifyLedger: stop node %s first", n.NodeID())
	}
	cmd := exec.Command(Binary(n.t), "ledger", "verify", "--data-dir", n.dataDir)
	cmd.Env = cleanEnv()
	out, err := cmd.Output()
	if err != nil {
		n.t.Fatalf("harness: coffer ledger verify --data-dir %s: %v\n%s", n.dataDir, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "verified ") {
		n.t.Fatalf("harness: coffer ledger verify --data-dir %s: no summary line:\n%s", n.dataDir, out)
	}
	return last
}
