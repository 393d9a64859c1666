package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// A small nightly advance, warm and cold: every portfolio, template or
// clone, advances exactly once to D, the sampled clones match the
// engine's recomputation, and the figures are there and consistent.
func TestDaily(t *testing.T) {
	t.Parallel()
	for _, cold := range []bool{false, true} {
		name := "warm"
		if cold {
			name = "cold"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := portfoliotest.NewDB(t)
			var progress bytes.Buffer
			opts := DefaultOptions()
			opts.Portfolios, opts.Templates, opts.Positions, opts.Symbols = 50, 5, 5, 20
			opts.Mode, opts.Cold, opts.Checks, opts.Progress = ModeDaily, cold, 2, io.MultiWriter(&progress, logWriter{t})
			opts.Seed = 31
			if cold {
				opts.Seed = 32
			}
			rep, err := Run(context.Background(), db.Pool, opts)
			if err != nil {
				t.Fatalf("%v\nprogress:\n%s", err, progress.String())
			}
			d := rep.DailyReport
			if d == nil || d.Cold != cold || d.Templates != 5 || rep.Sessions < dailyMinSessions {
				t.Fatalf("report %+v, daily %+v", rep, d)
			}
			if d.AdvancedOnce != 50 || d.DayRuns["completed"] != 50 || len(d.DayRuns) != 1 || d.SnapshotRows != 50 {
				t.Errorf("%d advanced once, runs %v, %d snapshot rows; want 50, 50 completed only, 50", d.AdvancedOnce, d.DayRuns, d.SnapshotRows)
			}
			if d.CheckedClones != 2 {
				t.Errorf("%d clones checked, want 2", d.CheckedClones)
			}
			// 45 clones of 5 templates with 260 days or more each.
			if d.SnapshotsBefore < 50*260 {
				t.Errorf("%d snapshot rows before the advance, want at least %d", d.SnapshotsBefore, 50*260)
			}
			if d.DailySeconds <= 0 || d.PortfoliosPerSecond <= 0 || d.Latency.P50 <= 0 || d.Latency.P50 > d.Latency.P99 ||
				d.Latency.P99 > d.Latency.Max || d.Latency.Max/1000 != d.DailySeconds {
				t.Errorf("times not positive and consistent: %+v", d)
			}
			if rep.CopySeconds <= 0 || d.DailyToCopyRatio <= 0 || d.RowsWritten < 100 || d.RunsBusySeconds <= 0 ||
				d.DBActiveSeconds <= 0 || d.DBTimeShare <= 0 || d.BenchPeakRSS <= 0 {
				t.Errorf("figures missing: copy %v, %+v", rep.CopySeconds, d)
			}
			var keys map[string]json.RawMessage
			b, _ := json.Marshal(rep)
			if err := json.Unmarshal(b, &keys); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"daily_seconds", "portfolios_per_second", "portfolio_latency_ms", "db_time_share",
				"rows_written", "bench_peak_rss_bytes", "server_peak_rss_bytes", "daily_to_copy_ratio", "copy_seconds"} {
				if _, ok := keys[k]; !ok {
					t.Errorf("JSON lacks %q", k)
				}
			}
			var table bytes.Buffer
			Print(&table, rep)
			if !strings.Contains(table.String(), "50 of 50 portfolios advanced exactly once") {
				t.Errorf("table:\n%s", table.String())
			}
		})
	}
}

// logWriter writes to the test's log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// The check fails the bench when a clone holds anything but what the
// engine computes for it, and nothing is timed then.
func TestDailyCheckFindsDifference(t *testing.T) {
	t.Parallel()
	db := portfoliotest.NewDB(t)
	opts := DefaultOptions()
	opts.Portfolios, opts.Templates, opts.Positions, opts.Symbols = 6, 2, 3, 10
	opts.Mode, opts.Cold, opts.Checks, opts.Seed = ModeDaily, true, 10, 33
	opts.afterClone = func(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema) error {
		_, err := pool.Exec(ctx, schema.SQL(`
			UPDATE {schema}.portfolio_snapshots SET volatility_63d = volatility_63d + 1e-12
			WHERE portfolio_id = (SELECT clone_id FROM {schema}.bench_clones ORDER BY n LIMIT 1)
			  AND snapshot_date = (SELECT max(snapshot_date) FROM {schema}.portfolio_snapshots)`))
		return err
	}
	rep, err := Run(context.Background(), db.Pool, opts)
	if err == nil || !strings.Contains(err.Error(), "portfolio_snapshots differs from the engine's") || rep != nil {
		t.Fatalf("Run = %v, %v; want the check's error and no report", rep, err)
	}
	if n := countRows(t, db.Pool, `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bench\_33\_%'`); n != 0 {
		t.Errorf("%d bench schemas left behind", n)
	}
}

func countRows(t *testing.T, pool *pgxpool.Pool, sql string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
