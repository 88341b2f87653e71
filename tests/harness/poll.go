package harness

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// pollInterval is how often conditions are checked.
const pollInterval = 20 * time.Millisecond

var errStopped = errors.New("harness: stopped while polling")

// Eventually checks cond until it returns nil, and fails the test with
// cond's last error if that does not happen within timeout. Call it from
// the test goroutine.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	if err := poll(time.Now().Add(timeout), nil, cond); err != nil {
		t.Fatalf("condition not met within %v: %v", timeout, err)
	}
}

// poll calls cond every pollInterval until it returns nil, the deadline
// passes (returning cond's last error) or stop is closed.
func poll(deadline time.Time, stop <-chan struct{}, cond func() error) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if !time.Now().Before(deadline) {
			return err
		}
		select {
		case <-tick.C:
		case <-stop:
			return fmt.Errorf("%w: %v", errStopped, err)
		}
	}
}
