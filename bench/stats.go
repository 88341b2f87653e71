package bench

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// Spread is the minimum, median and maximum of one metric over the
// repetitions of a benchmark cell.
type Spread struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

// Summarize returns the spread of vs; NaN values (a repetition that failed)
// are left out. An empty input gives a spread of NaNs.
func Summarize(vs []float64) Spread {
	var ok []float64
	for _, v := range vs {
		if !math.IsNaN(v) {
			ok = append(ok, v)
		}
	}
	if len(ok) == 0 {
		nan := math.NaN()
		return Spread{Min: nan, Median: nan, Max: nan}
	}
	slices.Sort(ok)
	return Spread{Min: ok[0], Median: median(ok), Max: ok[len(ok)-1]}
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted latencies
// by the nearest-rank method, the one sysbench and most load tools use.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Ratio returns a/b, or NaN when either side is missing or b is zero.
func Ratio(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return math.NaN()
	}
	return a / b
}

// MarshalJSON writes a missing value (NaN) as null, which encoding/json
// cannot do for a bare float.
func (s Spread) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Min    *float64 `json:"min"`
		Median *float64 `json:"median"`
		Max    *float64 `json:"max"`
	}{orNil(s.Min), orNil(s.Median), orNil(s.Max)})
}

// orNil turns NaN into nil for JSON.
func orNil(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// UnmarshalJSON reads null back as NaN.
func (s *Spread) UnmarshalJSON(b []byte) error {
	var v struct{ Min, Median, Max *float64 }
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	s.Min, s.Median, s.Max = fromNil(v.Min), fromNil(v.Median), fromNil(v.Max)
	return nil
}

func fromNil(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}
