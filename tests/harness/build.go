package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// BinaryEnv names an environment variable that, when set, is the path of a
// prebuilt coffer binary to use instead of building one.
const BinaryEnv = "COFFER_TEST_BINARY"

var build struct {
	once sync.Once
	dir  string // temp dir holding the built binary, removed by Main
	path string
	err  error
}

// Main builds the coffer binary, runs the tests of a package that uses the
// harness and removes the binary. Building first keeps the build's time out
// of the first test's. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }
func Main(m *testing.M) int {
	build.once.Do(func() { build.path, build.err = buildBinary() })
	if build.err != nil {
		fmt.Fprintln(os.Stderr, "harness:", build.err)
		return 1
	}
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	return code
}

// Binary returns the path of the coffer binary, building it on first use
// (once per test binary run).
func Binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() { build.path, build.err = buildBinary() })
	if build.err != nil {
		t.Fatalf("harness: %v", build.err)
	}
	return build.path
}

func buildBinary() (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		return p, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "coffer-bin-")
	if err != nil {
		return "", err
	}
	build.dir = dir
	path := filepath.Join(dir, "coffer")
	cmd := exec.Command("go", "build", "-o", path, "./cmd/coffer")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/coffer: %w\n%s", err, out)
	}
	return path, nil
}

// moduleRoot is the directory of the go.mod governing the working directory
// (go test runs tests in their package's directory).
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("harness: not inside the coffer module")
	}
	return filepath.Dir(gomod), nil
}
