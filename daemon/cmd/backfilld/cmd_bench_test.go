package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/sigmasight/backfill/daemon/bench"
)

// benchSchemas counts the schemas a bench run may have left behind.
const benchSchemas = `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bench\_%'`

func TestBench(t *testing.T) {
	t.Parallel()
	db, env := dbWithEnv(t)
	profile := filepath.Join(t.TempDir(), "cpu.pprof")
	r := backfilld(t, env, "", "bench", "--portfolios", "20", "--positions", "5", "--sessions", "30",
		"--replicas", "2", "--symbols", "20", "--json", "--cpuprofile", profile)
	r.want(t, exitOK, "onboarding 20 portfolios of 5 positions, reconcilers stopped", "onboarded 20/20",
		"2 reconciler(s) started, concurrency 4 each, on a backlog of 20 portfolios", "current 20/20", "dropped schema bench_1_")

	// A pprof profile is gzipped.
	if b, err := os.ReadFile(profile); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("--cpuprofile wrote %d bytes (error %v), want a gzipped profile", len(b), err)
	}

	var keys map[string]json.RawMessage
	r.decode(t, &keys)
	for _, k := range []string{"portfolios", "positions", "sessions", "replicas", "seed", "onboarding_latency_ms",
		"time_to_current_seconds", "portfolio_days_per_second", "rows_per_second", "database_bytes", "copy_seconds",
		"engine_to_copy_ratio", "backfills_per_replica", "runs_completed", "runs_failed"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("JSON lacks %q:\n%s", k, r.stdout)
		}
	}
	var rep bench.Report
	r.decode(t, &rep)
	if rep.Portfolios != 20 || rep.Positions != 5 || rep.Sessions != 30 || rep.Replicas != 2 || rep.Seed != 1 || !rep.Analytics ||
		rep.Mode != "backlog" || rep.CatchUpSeconds != 0 {
		t.Errorf("report echoes %+v, want the flags", rep)
	}
	if rep.RunsCompleted != 20 || rep.RunsFailed != 0 || len(rep.RunsOther) != 0 || rep.BackfilledOnce != 20 {
		t.Errorf("runs: %d completed, %d failed, other %v, %d backfilled once; want 20, 0, none, 20",
			rep.RunsCompleted, rep.RunsFailed, rep.RunsOther, rep.BackfilledOnce)
	}
	if rep.PortfolioDays != 20*30 || rep.SnapshotRows != 20*30 {
		t.Errorf("%d portfolio-days, %d snapshot rows; want 600 each", rep.PortfolioDays, rep.SnapshotRows)
	}
	sum := 0
	for name, n := range rep.BackfillsPerReplica {
		if !regexp.MustCompile(`^replica-[12]$`).MatchString(name) {
			t.Errorf("backfills by unknown worker %q", name)
		}
		sum += n
	}
	if sum != 20 {
		t.Errorf("backfills per replica %v, want 20 in all", rep.BackfillsPerReplica)
	}
	if len(rep.SweepsPerReplica) != 2 || rep.SweepsPerReplica["replica-1"] < 1 || rep.SweepsPerReplica["replica-2"] < 1 {
		t.Errorf("sweeps per replica %v, want at least one each", rep.SweepsPerReplica)
	}
	if rep.EngineToCopyRatio <= 0 || rep.CopySeconds <= 0 || rep.TimeToCurrent <= 0 || rep.BusySeconds <= 0 ||
		rep.BusySeconds > rep.TimeToCurrent || rep.PortfolioDaysPerSecond <= 0 || rep.RowsPerSecond <= 0 {
		t.Errorf("times and rates not positive and consistent: %+v", rep)
	}
	l := rep.OnboardingLatency
	if l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.Max {
		t.Errorf("onboarding latency %+v, want 0 < p50 ≤ p99 ≤ max", l)
	}
	if rep.DatabaseBytes <= rep.SchemaBytes || rep.SchemaBytes < rep.SnapshotTableBytes || rep.SnapshotTableBytes <= 0 {
		t.Errorf("sizes: database %d, schema %d, snapshots %d", rep.DatabaseBytes, rep.SchemaBytes, rep.SnapshotTableBytes)
	}
	if rep.Database != "DATABASE_URL" || rep.SchemaKept {
		t.Errorf("database %q, schema kept %v", rep.Database, rep.SchemaKept)
	}
	if n := queryInt(t, db, benchSchemas); n != 0 {
		t.Errorf("%d bench schemas left behind", n)
	}
	// The real schema was not touched.
	if n := queryInt(t, db, `SELECT count(*) FROM backfill.portfolios`); n != 0 {
		t.Errorf("%d portfolios in the real schema", n)
	}
}

// Live, without analytics and with --keep: the table report, and the
// schema with the baseline's rows stays for inspection.
func TestBenchLiveKeepTable(t *testing.T) {
	t.Parallel()
	db, env := dbWithEnv(t)
	r := backfilld(t, env, "", "bench", "--portfolios", "3", "--positions", "2", "--sessions", "5",
		"--symbols", "4", "--analytics=false", "--seed", "7", "--onboarders", "2", "--keep", "--mode", "live")
	r.want(t, exitOK, "1 reconciler(s) running, concurrency 4 each; onboarding 3 portfolios", "onboarded 3/3, current 3/3",
		"Benchmark on DATABASE_URL", "analytics off", "mode live", "from the first onboarding", "after the last onboarding",
		"3 completed, 0 failed", "3 of 3 portfolios backfilled exactly once", "engine / COPY:", "kept schema bench_7_")
	m := regexp.MustCompile(`schema (bench_7_\d+) \(kept\)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("report names no kept schema:\n%s", r.stdout)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM `+m[1]+`.portfolio_snapshots`); n != 3*5 {
		t.Errorf("kept schema holds %d snapshots, want 15", n)
	}
}

func TestBenchInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--positions", "30", "--symbols", "10"}, "--positions 30: want at most --symbols (10)"},
		{[]string{"--replicas", "0"}, "--replicas 0: want at least 1"},
		{[]string{"--portfolios", "-1"}, "--portfolios -1"},
		{[]string{"--timeout", "0s"}, "--timeout 0s"},
		{[]string{"--mode", "steady"}, `--mode "steady": want backlog, live, daily or plans`},
		{[]string{"--cold"}, "--cold: only with --mode daily"},
		{[]string{"--mode", "daily", "--templates", "0"}, "--templates 0: want at least 1"},
		{[]string{"--schema", "mine"}, "--schema has no effect"},
		{[]string{"--now", "2024-01-02T00:00:00Z"}, "--now has no effect"},
		{[]string{"extra"}, `takes no arguments, got "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			// No database is opened for invalid input.
			env := map[string]string{"DATABASE_URL": "postgres://nowhere.invalid/db"}
			backfilld(t, env, "", append([]string{"bench"}, tt.args...)...).want(t, exitInvalid, tt.want)
		})
	}
}

// The daily mode's flags reach the harness and its figures the JSON.
func TestBenchDaily(t *testing.T) {
	t.Parallel()
	_, env := dbWithEnv(t)
	r := backfilld(t, env, "", "bench", "--mode", "daily", "--cold", "--portfolios", "6", "--templates", "2", "--checks", "1",
		"--positions", "3", "--symbols", "10", "--seed", "9", "--json")
	r.want(t, exitOK, "build: onboarding 2 templates of 3 positions", "clone: 6 portfolios from 2 templates",
		"check: 1 clones recomputed by the engine", "cold", "current through 2024-12-31 6/6", "dropped schema bench_9_")
	var rep bench.Report
	r.decode(t, &rep)
	if d := rep.DailyReport; d == nil || !d.Cold || d.Templates != 2 || d.CheckedClones != 1 || d.AdvancedOnce != 6 || d.DailySeconds <= 0 {
		t.Errorf("report %+v, daily %+v", rep, d)
	}
}
