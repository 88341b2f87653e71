package cluster

import (
	"strings"
	"sync"

	gometrics "github.com/hashicorp/go-metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Raft reports its timings (commit time, log dispatch, follower log
// stores, FSM apply, replication RPCs …) through go-metrics' process-wide
// sink, which discards them unless one is installed. Metrics installs
// raftSink once per process and returns it as a collector for the node's
// /metrics. Nodes of one process (tests) share it.
//
// The sink keeps the metrics listed in raftTimings and raftCounters and
// drops the rest. go-metrics' own Prometheus sink kept every one, each
// sample costing a key built by joining and escaping strings, a sync.Map
// store and a summary's quantile stream under a lock: 2% of a leader's
// CPU and 4% of a follower's at 64 connections of inserts. Here a sample
// is a map look-up with no allocation and a histogram's atomic adds.
func Metrics() prometheus.Collector {
	metricsOnce.Do(func() {
		conf := gometrics.DefaultConfig("")
		conf.EnableHostname = false
		conf.EnableRuntimeMetrics = false // the Go collector reports these
		conf.EnableServiceLabel = false
		sink := newRaftSink()
		if _, err := gometrics.NewGlobal(conf, sink); err != nil {
			return
		}
		metricsSink = sink
	})
	if metricsSink == nil {
		return noCollector{}
	}
	return metricsSink
}

// metricBatchCommits is the commits per raft entry the leader's batcher
// appends (batch.go): coffer_raft_batch_commits.
var metricBatchCommits = []string{"coffer", "raft", "batch_commits"}

// raftTimings are the go-metrics samples kept, as histograms in
// milliseconds named after their key (raft_commitTime …), with what they
// time. A sample labelled peer_id (replication) keeps that label.
var raftTimings = []struct {
	key  []string
	help string
}{
	{[]string{"raft", "commitTime"}, "Leader: from appending an entry to its commit by a majority, in milliseconds."},
	{[]string{"raft", "leader", "dispatchLog"}, "Leader: appending a batch of entries to its own log (the fsync included), in milliseconds."},
	{[]string{"raft", "replication", "appendEntries", "rpc"}, "Leader: one AppendEntries round trip to a follower (its log append and fsync included), in milliseconds."},
	{[]string{"raft", "replication", "heartbeat"}, "Leader: one heartbeat round trip to a follower, in milliseconds."},
	{[]string{"raft", "rpc", "appendEntries"}, "Follower: handling one AppendEntries request, in milliseconds."},
	{[]string{"raft", "rpc", "appendEntries", "storeLogs"}, "Follower: appending the entries of one AppendEntries to its log (the fsync included), in milliseconds."},
	{[]string{"raft", "fsm", "applyBatch"}, "Applying one batch of committed entries to the state machine, in milliseconds."},
	{[]string{"raft", "fsm", "enqueue"}, "Waiting to hand committed entries to the state machine, in milliseconds."},
	{[]string{"raft", "fsm", "snapshot"}, "Taking a state machine snapshot (a store checkpoint), in milliseconds."},
	{[]string{"raft", "fsm", "restore"}, "Restoring the state machine from a snapshot, in milliseconds."},
	{[]string{"raft", "snapshot", "persist"}, "Writing a snapshot out, in milliseconds."},
	{[]string{"raft", "candidate", "electSelf"}, "Candidate: asking for votes, in milliseconds."},
	{[]string{"raft", "leader", "lastContact"}, "Leader: time since it last heard from each follower, sampled, in milliseconds."},
}

// raftCounters are the go-metrics counters kept, as raft_… counters.
var raftCounters = []struct {
	key  []string
	help string
}{
	{[]string{"raft", "state", "leader"}, "Times this node became the leader."},
	{[]string{"raft", "state", "candidate"}, "Times this node stood for election."},
	{[]string{"raft", "state", "follower"}, "Times this node became a follower."},
	{[]string{"raft", "transition", "heartbeat_timeout"}, "Times this follower heard no leader within the heartbeat timeout."},
	{[]string{"raft", "transition", "leader_lease_timeout"}, "Times this leader stepped down, not having heard from a majority within the lease."},
	{[]string{"raft", "apply"}, "Entries this leader was asked to append."},
	{[]string{"raft", "barrier"}, "Barriers this leader was asked for (a new leader's first read)."},
}

// msBuckets are the timing histograms' buckets, in milliseconds.
var msBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 25, 50, 100, 250, 1000, 5000}

// metricKey is a go-metrics key of at most four parts, comparable as a
// map key without joining its parts.
type metricKey [4]string

func keyOf(parts []string) (metricKey, bool) {
	var k metricKey
	if len(parts) > len(k) {
		return k, false
	}
	copy(k[:], parts)
	return k, true
}

func metricName(parts []string) string { return strings.Join(parts, "_") }

// raftSink is a go-metrics sink of a fixed set of Prometheus metrics.
type raftSink struct {
	samples map[metricKey]*prometheus.HistogramVec
	// plain holds the label-less histograms' one observer, looked up
	// once instead of per sample (a hash of no labels, a map look-up and
	// a lock each time: 1% of a follower's CPU at 64 connections).
	plain    map[metricKey]prometheus.Observer
	counters map[metricKey]prometheus.Counter
	all      []prometheus.Collector
}

var _ gometrics.MetricSink = (*raftSink)(nil)

func newRaftSink() *raftSink {
	s := &raftSink{samples: map[metricKey]*prometheus.HistogramVec{}, plain: map[metricKey]prometheus.Observer{}, counters: map[metricKey]prometheus.Counter{}}
	for _, m := range raftTimings {
		labels := []string(nil)
		if m.key[1] == "replication" {
			labels = []string{"peer_id"}
		}
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: metricName(m.key), Help: m.help, Buckets: msBuckets}, labels)
		k, _ := keyOf(m.key)
		s.samples[k] = h
		s.all = append(s.all, h)
	}
	batch := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    metricName(metricBatchCommits),
		Help:    "Leader: commits per raft entry its batcher appends.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	}, nil)
	k, _ := keyOf(metricBatchCommits)
	s.samples[k] = batch
	s.all = append(s.all, batch)
	for k, h := range s.samples {
		if o, err := h.GetMetricWithLabelValues(); err == nil {
			s.plain[k] = o
		}
	}
	for _, m := range raftCounters {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: metricName(m.key), Help: m.help})
		k, _ := keyOf(m.key)
		s.counters[k] = c
		s.all = append(s.all, c)
	}
	return s
}

func (s *raftSink) AddSample(key []string, val float32) {
	s.AddSampleWithLabels(key, val, nil)
}

func (s *raftSink) AddSampleWithLabels(key []string, val float32, labels []gometrics.Label) {
	k, ok := keyOf(key)
	if !ok {
		return
	}
	if o := s.plain[k]; o != nil {
		o.Observe(float64(val))
		return
	}
	h := s.samples[k]
	if h == nil {
		return
	}
	peer := ""
	for _, l := range labels {
		if l.Name == "peer_id" {
			peer = l.Value
		}
	}
	var o prometheus.Observer
	var err error
	if peer != "" {
		o, err = h.GetMetricWithLabelValues(peer)
	} else {
		o, err = h.GetMetricWithLabelValues()
	}
	if err == nil {
		o.Observe(float64(val))
	}
}

func (s *raftSink) IncrCounter(key []string, val float32) {
	if k, ok := keyOf(key); ok {
		if c := s.counters[k]; c != nil && val >= 0 {
			c.Add(float64(val))
		}
	}
}

func (s *raftSink) IncrCounterWithLabels(key []string, val float32, _ []gometrics.Label) {
	s.IncrCounter(key, val)
}

func (*raftSink) SetGauge([]string, float32)                              {}
func (*raftSink) SetGaugeWithLabels([]string, float32, []gometrics.Label) {}
func (*raftSink) EmitKey([]string, float32)                               {}

// Describe and Collect make the sink a prometheus.Collector.
func (s *raftSink) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range s.all {
		c.Describe(ch)
	}
}

func (s *raftSink) Collect(ch chan<- prometheus.Metric) {
	for _, c := range s.all {
		c.Collect(ch)
	}
}

var (
	metricsOnce sync.Once
	metricsSink *raftSink
)

type noCollector struct{}

func (noCollector) Describe(chan<- *prometheus.Desc) {}
func (noCollector) Collect(chan<- prometheus.Metric) {}
