package daemon

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigmasight/backfill/portfolio"
)

// Label values, every one initialised at start so that rates and alerts
// see zeros instead of missing series.
var (
	sweepResults    = []string{"ok", "error"}
	backfillResults = labels(Outcomes())
	portfolioStates = labels(portfolio.States())
	lagBuckets      = []string{"1d", "2_5d", "gt_5d", "never"}
)

// metrics are the reconciler's collectors. Nothing here is per portfolio:
// per-portfolio detail goes to /status and the logs.
type metrics struct {
	sweeps            *prometheus.CounterVec
	sweepDuration     prometheus.Histogram
	lastSweep         prometheus.Gauge
	backfills         *prometheus.CounterVec
	backfillDuration  prometheus.Histogram
	daysWritten       prometheus.Counter
	inFlight          prometheus.Gauge
	longestRunning    prometheus.GaugeFunc
	leaseReclaims     prometheus.Counter
	priceChanges      prometheus.Counter
	priceRewinds      prometheus.Counter
	portfolios        *prometheus.GaugeVec
	behind            *prometheus.GaugeVec
	maxLag            prometheus.Gauge
	oldestMissing     prometheus.Gauge
	targetDay         prometheus.Gauge
	listenerConnected prometheus.Gauge
	buildInfo         *prometheus.GaugeVec
}

// newMetrics registers the collectors on reg; longest reports the age in
// seconds of the oldest backfill running now.
func newMetrics(reg prometheus.Registerer, version string, longest func() float64) (*metrics, error) {
	m := &metrics{
		sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backfill_sweeps_total",
			Help: "Sweeps for portfolios that are behind, by result.",
		}, []string{"result"}),
		sweepDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "backfill_sweep_duration_seconds",
			Help:    "Time to find and claim behind portfolios and refresh the state gauges, per sweep.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		lastSweep: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "backfill_last_successful_sweep_timestamp_seconds",
			Help: "Unix time of the last successful sweep; 0 before the first.",
		}),
		backfills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backfill_backfills_total",
			Help: "Backfills run by this replica, by result.",
		}, []string{"result"}),
		backfillDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "backfill_backfill_duration_seconds",
			Help:    "Wall time of one portfolio's backfill.",
			Buckets: prometheus.ExponentialBuckets(0.005, 3, 12),
		}),
		daysWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "backfill_days_written_total",
			Help: "Portfolio-days of snapshots written.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "backfill_backfills_in_flight",
			Help: "Backfills running now in this replica.",
		}),
		longestRunning: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "backfill_longest_running_backfill_seconds",
			Help: "Age of the oldest backfill running now in this replica; 0 when none.",
		}, longest),
		leaseReclaims: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "backfill_lease_reclaims_total",
			Help: "Expired leases of other workers taken over.",
		}),
		priceChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "backfill_price_changes_applied_total",
			Help: "Recorded changes of stored closes (symbol and earliest day) this replica turned into rewinds.",
		}),
		priceRewinds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "backfill_price_rewinds_total",
			Help: "Portfolios rewound by this replica to recompute days whose closes changed.",
		}),
		portfolios: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "backfill_portfolios",
			Help: "Live portfolios by reconciler state, as of the last sweep.",
		}, []string{"state"}),
		behind: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "backfill_portfolios_behind",
			Help: "Portfolios behind the target trading day by lag (1d, 2_5d, gt_5d trading days; never snapshotted), as of the last sweep.",
		}, []string{"lag"}),
		maxLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "backfill_max_lag_trading_days",
			Help: "Largest lag in trading days of a snapshotted portfolio behind the target day, as of the last sweep.",
		}),
		oldestMissing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "backfill_oldest_missing_snapshot_timestamp_seconds",
			Help: "Unix time of the oldest trading day some portfolio lacks a snapshot for; 0 when none is missing.",
		}),
		targetDay: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "backfill_target_trading_day_timestamp_seconds",
			Help: "Unix time (midnight UTC) of the trading day portfolios are brought up to: the latest closed session with benchmark prices.",
		}),
		listenerConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "backfill_listener_connected",
			Help: "1 while the LISTEN connection for backfill requests is up.",
		}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "backfill_build_info",
			Help: "Always 1; labels carry the build's version and Go version.",
		}, []string{"version", "goversion"}),
	}
	for _, c := range []prometheus.Collector{m.sweeps, m.sweepDuration, m.lastSweep, m.backfills, m.backfillDuration,
		m.daysWritten, m.inFlight, m.longestRunning, m.leaseReclaims, m.priceChanges, m.priceRewinds, m.portfolios, m.behind, m.maxLag,
		m.oldestMissing, m.targetDay, m.listenerConnected, m.buildInfo} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, v := range sweepResults {
		m.sweeps.WithLabelValues(v)
	}
	for _, v := range backfillResults {
		m.backfills.WithLabelValues(v)
	}
	for _, v := range portfolioStates {
		m.portfolios.WithLabelValues(v)
	}
	for _, v := range lagBuckets {
		m.behind.WithLabelValues(v)
	}
	m.buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	return m, nil
}
