package cluster

import (
	"sync"
	"time"

	gometrics "github.com/hashicorp/go-metrics"
	gmprom "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
)

// Raft reports its timings (commit time, log dispatch, follower log
// stores, FSM apply, replication RPCs …) through go-metrics' process-wide
// sink, which discards them unless one is installed. Metrics installs a
// Prometheus sink once per process and returns it as a collector for the
// node's /metrics: raft_* summaries (quantiles 0.5, 0.9 and 0.99 over a
// sliding window, in milliseconds) and counters. Nodes of one process
// (tests) share it.
func Metrics() prometheus.Collector {
	metricsOnce.Do(func() {
		sink, err := gmprom.NewPrometheusSinkFrom(gmprom.PrometheusOpts{
			Expiration: time.Minute,
			Registerer: prometheus.NewRegistry(), // the sink registers itself; callers register it where they serve
		})
		if err != nil {
			return
		}
		conf := gometrics.DefaultConfig("")
		conf.EnableHostname = false
		conf.EnableRuntimeMetrics = false // the Go collector reports these
		conf.EnableServiceLabel = false
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

var (
	metricsOnce sync.Once
	metricsSink *gmprom.PrometheusSink
)

type noCollector struct{}

func (noCollector) Describe(chan<- *prometheus.Desc) {}
func (noCollector) Collect(chan<- prometheus.Metric) {}
