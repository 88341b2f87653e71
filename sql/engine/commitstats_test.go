package engine

import (
	"errors"
	"testing"
	"time"
)

// A commit lands in the first bucket whose bound it does not exceed;
// failed commits are not timed; the histogram is cumulative.
func TestCommitStatsBuckets(t *testing.T) {
	e := &Engine{}
	for _, d := range []time.Duration{50 * time.Microsecond, 100 * time.Microsecond, 3 * time.Millisecond, 10 * time.Second} {
		e.commits.observe(d, nil)
	}
	e.commits.observe(time.Millisecond, errors.New("refused"))
	e.commits.noteConflict()
	st := e.CommitStats()
	want := map[float64]uint64{0.0001: 2, 0.0025: 2, 0.005: 3, 5: 3}
	for i, b := range CommitBounds {
		if w, ok := want[b]; ok && st.Cumulative[i] != w {
			t.Errorf("commits of at most %vs: %d, want %d", b, st.Cumulative[i], w)
		}
	}
	if st.Count != 4 || st.Conflicts != 1 {
		t.Errorf("count %d, conflicts %d; want 4 and 1", st.Count, st.Conflicts)
	}
	if sum := 10.00315; st.Sum < sum-1e-9 || st.Sum > sum+1e-9 {
		t.Errorf("sum %v s, want %v", st.Sum, sum)
	}
}
