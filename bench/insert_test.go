package bench

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// fakeInserter records what insertLoop hands it.
type fakeInserter struct {
	calls       int
	cancellable bool // some call got a context that can be cancelled
	fail        func(call int) error
	onCall      func(call int)
}

func (f *fakeInserter) insert(ctx context.Context, _ int, _ int64) error {
	f.calls++
	f.cancellable = f.cancellable || ctx.Done() != nil
	if f.onCall != nil {
		f.onCall(f.calls)
	}
	if f.fail != nil {
		return f.fail(f.calls)
	}
	return nil
}

func (f *fakeInserter) close() {}

// TestInsertLoopStatementsCannotBeCancelled: statements go out with a
// context that drivers need not watch, and the loop still stops when the
// run's context is cancelled.
func TestInsertLoopStatementsCannotBeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fakeInserter{onCall: func(call int) {
		if call == 50 {
			cancel()
		}
	}}
	now := time.Now()
	lat, _, nerr, err := insertLoop(ctx, f, 0, now, now.Add(time.Hour))
	if f.cancellable {
		t.Error("a statement got a cancellable context")
	}
	if f.calls != 50 {
		t.Errorf("%d statements after the run was cancelled at the 50th", f.calls)
	}
	if len(lat) != 50 || nerr != 0 || err != nil {
		t.Errorf("latencies %d, errors %d (%v), want 50, 0", len(lat), nerr, err)
	}
}

// TestInsertLoopCountsErrors: failed statements are counted apart from
// the latencies, and the first error is kept.
func TestInsertLoopCountsErrors(t *testing.T) {
	boom := errors.New("boom")
	f := &fakeInserter{fail: func(call int) error {
		if call%2 == 0 {
			return boom
		}
		return nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.onCall = func(call int) {
		if call == 10 {
			cancel()
		}
	}
	now := time.Now()
	lat, _, nerr, err := insertLoop(ctx, f, 0, now, now.Add(time.Hour))
	if len(lat) != 5 || nerr != 5 || !errors.Is(err, boom) {
		t.Errorf("latencies %d, errors %d (%v), want 5, 5, boom", len(lat), nerr, err)
	}
}

// TestWindowTPS: statements are counted in the half second they finished
// in, a stalled half second shows as one, and times outside the counted
// window are left out.
func TestWindowTPS(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	finished := [][]time.Duration{
		ms(0, 100, 499, 500, 1600, 2000), // 2000 is past a 2 s window
		ms(999, 1500, 1999, -1),
	}
	got := windowTPS(finished, 2*time.Second)
	want := []float64{6, 4, 0, 6} // 3, 2, 0 and 3 statements per half second
	if !slices.Equal(got, want) {
		t.Errorf("windowTPS = %v, want %v", got, want)
	}
	if got := windowTPS(finished, 400*time.Millisecond); got != nil {
		t.Errorf("a window shorter than insertWindow: %v, want nil", got)
	}
}
