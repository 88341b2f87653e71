package server

import (
	"net/http"
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cofferdb/coffer/server/cluster"
	"github.com/cofferdb/coffer/sql/engine"
)

// metricsHandler serves /metrics on the admin address: the Go runtime's
// and the process's metrics, the node's own (nodeCollector) and, in a
// cluster, raft's (cluster.Metrics), in the Prometheus text format.
func metricsHandler(s *Server) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			// How long runnable goroutines wait for a processor: on a
			// busy node, the commit path's goroutines wait behind the
			// sessions' (README, "Metrics").
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/sched/latencies:seconds$`)},
		)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		nodeCollector{s},
	)
	if s.cfg.RaftAddr != "" {
		reg.MustRegister(cluster.Metrics())
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// nodeCollector reads the node's counters at each scrape.
type nodeCollector struct{ s *Server }

func desc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("coffer_"+name, help, nil, nil)
}

var (
	descApplied       = desc("commit_sequence", "Sequence of the last transaction written to storage (committed transactions so far).")
	descVisible       = desc("visible_sequence", "Sequence of the last durable transaction that new snapshots read.")
	descSigned        = desc("ledger_signed_entries", "Ledger entries covered by the newest stored signature.")
	descGroups        = desc("commit_groups_total", "Commit groups written by the single-node commit path; commit_sequence over it is the mean group size.")
	descRowCache      = desc("row_cache_bytes", "Bytes of current rows held in the row cache.")
	descRowComplete   = desc("row_cache_complete", "1 while the row cache holds every current row (reads skip the storage engine's files), 0 once the rows outgrew it.")
	descOverlay       = desc("overlay_bytes", "Bytes of current rows written since the last checkpoint.")
	descL0            = desc("storage_l0_files", "Files in the storage engine's level 0.")
	descReadAmp       = desc("storage_read_amplification", "Sorted runs a storage read may merge.")
	descDebt          = desc("storage_compaction_debt_bytes", "The storage engine's estimate of the bytes compactions are behind.")
	descMemTable      = desc("storage_memtable_bytes", "Bytes of the storage engine's memtables.")
	descFlushes       = desc("storage_flushes_total", "Memtable flushes of the storage engine since the node started.")
	descCompactions   = desc("storage_compactions_total", "Compactions of the storage engine since the node started.")
	descStalls        = desc("storage_write_stalls_total", "Write stalls of the storage engine: commits held until a flush or an L0 compaction caught up.")
	descStallTime     = desc("storage_write_stall_seconds_total", "Summed length of the storage engine's write stalls.")
	descFastPathHits  = desc("fast_path_hits_total", "Statements answered by Coffer's fast paths instead of the general SQL engine.")
	descCommitTime    = desc("commit_duration_seconds", "Time from a session's COMMIT (or autocommit statement) reaching the commit path to the commit being durable and visible on this node (group commit or raft included), for commits that succeeded.")
	descConflicts     = desc("write_conflicts_total", "Write conflicts sessions lost to a transaction that committed first, at a statement or at the commit (rolled back with ER_LOCK_DEADLOCK / SQLSTATE 40001; an autocommit statement may have been run again without the client seeing it).")
	descInlineWAL     = desc("wal_inline_writes_total", "Synced WAL writes made as raw system calls that keep their Go scheduler slot, while a single node serves one client on one P (storage/walfs_direct.go).")
	nodeCollectorDesc = []*prometheus.Desc{descApplied, descVisible, descSigned, descGroups, descInlineWAL, descRowCache, descRowComplete, descOverlay, descL0, descReadAmp, descDebt, descMemTable, descFlushes, descCompactions, descStalls, descStallTime, descFastPathHits, descCommitTime, descConflicts}
)

func (c nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range nodeCollectorDesc {
		ch <- d
	}
}

func (c nodeCollector) Collect(ch chan<- prometheus.Metric) {
	// The engine is published once storage is open and the node has
	// started (the admin address answers earlier, while it joins).
	e := c.s.engineP.Load()
	if e == nil {
		return
	}
	st := c.s.db.Stats()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	complete := 0.0
	if st.RowCacheComplete {
		complete = 1
	}
	gauge(descApplied, float64(st.Applied))
	gauge(descVisible, float64(st.Visible))
	gauge(descSigned, float64(st.Signed))
	counter(descGroups, float64(st.CommitGroups))
	counter(descInlineWAL, float64(st.InlineWALWrites))
	gauge(descRowCache, float64(st.RowCacheBytes))
	gauge(descRowComplete, complete)
	gauge(descOverlay, float64(st.OverlayBytes))
	gauge(descL0, float64(st.L0Files))
	gauge(descReadAmp, float64(st.ReadAmp))
	gauge(descDebt, float64(st.CompactionDebt))
	gauge(descMemTable, float64(st.MemTableBytes))
	counter(descFlushes, float64(st.Flushes))
	counter(descCompactions, float64(st.Compactions))
	counter(descStalls, float64(st.WriteStalls))
	counter(descStallTime, st.WriteStallTime.Seconds())
	counter(descFastPathHits, float64(e.FastHits()))
	cs := e.CommitStats()
	buckets := make(map[float64]uint64, len(engine.CommitBounds))
	for i, b := range engine.CommitBounds {
		buckets[b] = cs.Cumulative[i]
	}
	ch <- prometheus.MustNewConstHistogram(descCommitTime, cs.Count, cs.Sum, buckets)
	counter(descConflicts, float64(cs.Conflicts))
}
