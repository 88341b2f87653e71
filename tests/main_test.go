package tests

import (
	"os"
	"os/exec"
	"testing"

	"github.com/cofferdb/coffer/tests/harness"
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }

// requireTool returns the path of an external client program, skipping the
// test if it is missing on a developer machine. In CI (env CI set) a
// missing tool fails the test: CI installs every client these tests use.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required in CI: %v", name, err)
	}
	t.Skipf("%s not installed: %v", name, err)
	return ""
}
