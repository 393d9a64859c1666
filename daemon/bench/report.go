package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what `backfilld bench` measured.
type Report struct {
	Portfolios  int    `json:"portfolios"`
	Positions   int    `json:"positions"`
	Sessions    int    `json:"sessions"`
	Symbols     int    `json:"symbols"`
	Replicas    int    `json:"replicas"`
	Concurrency int    `json:"concurrency"`
	Onboarders  int    `json:"onboarders"`
	Seed        uint64 `json:"seed"`
	Analytics   bool   `json:"analytics"`
	// Mode is backlog, live, daily or plans.
	Mode string `json:"mode"`

	// Database is "DATABASE_URL" or "embedded PostgreSQL in DIR".
	Database            string `json:"database"`
	ServerVersion       string `json:"server_version"`
	Fsync               string `json:"fsync"`
	Schema              string `json:"schema"`
	SchemaKept          bool   `json:"schema_kept"`
	ReplicaPoolMaxConns int32  `json:"replica_pool_max_conns"`

	HistorySessions int     `json:"history_sessions"`
	PriceRows       int     `json:"price_rows"`
	PricesSeconds   float64 `json:"prices_import_seconds"`

	OnboardingLatency LatencyMS `json:"onboarding_latency_ms"`
	OnboardingSeconds float64   `json:"onboarding_seconds"`
	TimeToCurrent     float64   `json:"time_to_current_seconds"`
	BusySeconds       float64   `json:"busy_seconds"`
	// CatchUpSeconds is the time from the start of the last onboarding's
	// transaction until every portfolio was current: about one backfill
	// when the reconcilers kept pace with the onboarding.
	CatchUpSeconds float64 `json:"catch_up_seconds"`

	PortfolioDays          int64   `json:"portfolio_days"`
	SnapshotRows           int64   `json:"snapshot_rows"`
	PortfolioDaysPerSecond float64 `json:"portfolio_days_per_second"`
	RowsPerSecond          float64 `json:"rows_per_second"`

	DatabaseBytes      int64 `json:"database_bytes"`
	SchemaBytes        int64 `json:"schema_bytes"`
	SnapshotTableBytes int64 `json:"snapshot_table_bytes"`

	CopySeconds       float64 `json:"copy_seconds"`
	CopyRowsPerSecond float64 `json:"copy_rows_per_second"`
	EngineToCopyRatio float64 `json:"engine_to_copy_ratio"`

	// BackfillsPerReplica counts completed runs by worker.
	BackfillsPerReplica map[string]int `json:"backfills_per_replica"`
	// SweepsPerReplica counts each reconciler's sweeps (at start, on the
	// Schedule and on notifications), from its metrics.
	SweepsPerReplica map[string]int `json:"sweeps_per_replica"`
	RunsCompleted    int            `json:"runs_completed"`
	RunsFailed       int            `json:"runs_failed"`
	// RunsOther counts runs of any other status (partial,
	// waiting_for_prices, pending, running); normally empty.
	RunsOther map[string]int `json:"runs_other"`
	// BackfilledOnce counts portfolios with exactly one completed run.
	BackfilledOnce int `json:"portfolios_backfilled_once"`

	// DailyReport holds the figures of ModeDaily, nil otherwise.
	*DailyReport
	// PlansReport holds the figures of ModePlans, nil otherwise.
	*PlansReport
}

// LatencyMS are latency percentiles in milliseconds.
type LatencyMS struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// percentiles returns the nearest-rank p50 and p99 and the maximum of ds.
func percentiles(ds []time.Duration) LatencyMS {
	if len(ds) == 0 {
		return LatencyMS{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		return s[max(0, int(math.Ceil(p*float64(len(s))))-1)]
	}
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	return LatencyMS{P50: ms(rank(0.50)), P99: ms(rank(0.99)), Max: ms(s[len(s)-1])}
}

// Print writes the report as a table.
func Print(w io.Writer, r *Report) {
	if r.DailyReport != nil {
		printDaily(w, r)
		return
	}
	if r.PlansReport != nil {
		printPlans(w, r)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	kept := "dropped"
	if r.SchemaKept {
		kept = "kept"
	}
	analytics := "on"
	if !r.Analytics {
		analytics = "off"
	}
	fmt.Fprintf(tw, "Benchmark on %s (PostgreSQL %s, fsync %s), schema %s (%s)\n", r.Database, r.ServerVersion, r.Fsync, r.Schema, kept)
	fmt.Fprintf(tw, "  world:\t%d portfolios × %d positions × %d sessions, %d symbols + proxies, %d sessions of history, seed %d, analytics %s\n",
		r.Portfolios, r.Positions, r.Sessions, r.Symbols, r.HistorySessions, r.Seed, analytics)
	fmt.Fprintf(tw, "  reconcilers:\t%d × concurrency %d (pools of %d connections), %d onboarding client(s), mode %s\n",
		r.Replicas, r.Concurrency, r.ReplicaPoolMaxConns, r.Onboarders, r.Mode)
	fmt.Fprintf(tw, "  prices:\t%d rows imported in %.1fs\n", r.PriceRows, r.PricesSeconds)
	fmt.Fprintf(tw, "  onboarding:\t%d in %.1fs; latency p50 %.1fms, p99 %.1fms, max %.1fms\n",
		r.Portfolios, r.OnboardingSeconds, r.OnboardingLatency.P50, r.OnboardingLatency.P99, r.OnboardingLatency.Max)
	if r.Mode == ModeLive {
		fmt.Fprintf(tw, "  time to current:\t%.1fs from the first onboarding\n", r.TimeToCurrent)
		fmt.Fprintf(tw, "  reconcilers busy:\t%.1fs from the first backfill; all current %.2fs after the last onboarding\n",
			r.BusySeconds, r.CatchUpSeconds)
	} else {
		fmt.Fprintf(tw, "  time to current:\t%.1fs from the reconcilers' start\n", r.TimeToCurrent)
		fmt.Fprintf(tw, "  reconcilers busy:\t%.1fs from the first backfill\n", r.BusySeconds)
	}
	fmt.Fprintf(tw, "  throughput:\t%.0f portfolio-days/s, %.0f snapshot rows/s (%d portfolio-days, %d rows)\n",
		r.PortfolioDaysPerSecond, r.RowsPerSecond, r.PortfolioDays, r.SnapshotRows)
	fmt.Fprintf(tw, "  runs:\t%d completed, %d failed%s; %d of %d portfolios backfilled exactly once\n",
		r.RunsCompleted, r.RunsFailed, otherRuns(r.RunsOther), r.BackfilledOnce, r.Portfolios)
	workers := make([]string, 0, len(r.BackfillsPerReplica))
	for name := range r.BackfillsPerReplica {
		workers = append(workers, name)
	}
	slices.Sort(workers)
	for i, name := range workers {
		workers[i] = name + " " + strconv.Itoa(r.BackfillsPerReplica[name])
	}
	fmt.Fprintf(tw, "  backfills:\t%s\n", strings.Join(workers, ", "))
	sweeps := make([]string, 0, len(r.SweepsPerReplica))
	for name, n := range r.SweepsPerReplica {
		sweeps = append(sweeps, name+" "+strconv.Itoa(n))
	}
	slices.Sort(sweeps)
	fmt.Fprintf(tw, "  sweeps:\t%s\n", strings.Join(sweeps, ", "))
	fmt.Fprintf(tw, "  database size:\t%s (bench schema %s, snapshots %s)\n",
		bytesText(r.DatabaseBytes), bytesText(r.SchemaBytes), bytesText(r.SnapshotTableBytes))
	fmt.Fprintf(tw, "  raw COPY:\t%d rows in %.2fs (%.0f rows/s)\n", r.SnapshotRows, r.CopySeconds, r.CopyRowsPerSecond)
	fmt.Fprintf(tw, "  engine / COPY:\t%.2f (reconcilers busy / raw COPY)\n", r.EngineToCopyRatio)
	tw.Flush()
}

func otherRuns(m map[string]int) string {
	statuses := make([]string, 0, len(m))
	for s := range m {
		statuses = append(statuses, s)
	}
	slices.Sort(statuses)
	var b strings.Builder
	for _, s := range statuses {
		fmt.Fprintf(&b, ", %d %s", m[s], s)
	}
	return b.String()
}

// bytesText formats a size in binary units.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), 0
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i-1])
}
