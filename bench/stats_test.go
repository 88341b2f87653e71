package bench

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	tests := []struct {
		name string
		in   []float64
		want Spread
	}{
		{"one", []float64{5}, Spread{5, 5, 5}},
		{"odd", []float64{3, 1, 2}, Spread{1, 2, 3}},
		{"even", []float64{4, 1, 3, 2}, Spread{1, 2.5, 4}},
		{"NaN left out", []float64{nan, 7, 1, nan, 4}, Spread{1, 4, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Summarize(tt.in); got != tt.want {
				t.Errorf("Summarize(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
	if s := Summarize(nil); !math.IsNaN(s.Median) {
		t.Errorf("Summarize(nil).Median = %v, want NaN", s.Median)
	}
}

func TestSpreadJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Summarize(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"min":null,"median":null,"max":null}` {
		t.Errorf("empty spread = %s", got)
	}
	b, _ = json.Marshal(Spread{1, 2, 3})
	if got := string(b); got != `{"min":1,"median":2,"max":3}` {
		t.Errorf("spread = %s", got)
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(ns ...int) []time.Duration {
		var d []time.Duration
		for _, n := range ns {
			d = append(d, time.Duration(n)*time.Millisecond)
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 99, 0},
		{"single", ms(7), 50, 7 * time.Millisecond},
		{"median of 4 is the 2nd", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is the max", ms(hundred...), 100, 100 * time.Millisecond},
		{"tiny p is the min", ms(hundred...), 0.001, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(p%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestHistogramPercentile(t *testing.T) {
	t.Parallel()
	h := []HistogramBucket{{1, 50}, {2, 45}, {5, 4}, {9, 1}}
	tests := []struct {
		p    float64
		want float64
	}{{50, 1}, {51, 2}, {95, 2}, {99, 5}, {100, 9}}
	for _, tt := range tests {
		if got := HistogramPercentile(h, tt.p); got != tt.want {
			t.Errorf("HistogramPercentile(p%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := HistogramPercentile(nil, 99); !math.IsNaN(got) {
		t.Errorf("empty histogram: %v, want NaN", got)
	}
}

func TestRatio(t *testing.T) {
	t.Parallel()
	if got := Ratio(1, 4); got != 0.25 {
		t.Errorf("Ratio(1, 4) = %v", got)
	}
	for _, in := range [][2]float64{{1, 0}, {math.NaN(), 1}, {1, math.NaN()}} {
		if got := Ratio(in[0], in[1]); !math.IsNaN(got) {
			t.Errorf("Ratio(%v, %v) = %v, want NaN", in[0], in[1], got)
		}
	}
}
