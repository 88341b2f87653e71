package bench

import (
	"context"
	"errors"
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
	lat, nerr, err := insertLoop(ctx, f, 0, now, now.Add(time.Hour))
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
	lat, nerr, err := insertLoop(ctx, f, 0, now, now.Add(time.Hour))
	if len(lat) != 5 || nerr != 5 || !errors.Is(err, boom) {
		t.Errorf("latencies %d, errors %d (%v), want 5, 5, boom", len(lat), nerr, err)
	}
}
