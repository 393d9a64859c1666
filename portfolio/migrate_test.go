package portfolio_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

func TestMain(m *testing.M) { portfoliotest.Main(m) }

// migratedTables are tables the migrations create, checked by name.
var migratedTables = []string{"portfolios", "positions", "backfill_state", "batch_runs", "portfolio_snapshots"}

func TestMigrateUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t) // migrated to the latest version
	assertTables(t, db, "backfill", true)

	if err := portfolio.MigrateDown(ctx, db.Pool, nil); err != nil {
		t.Fatalf("MigrateDown: %v", err)
	}
	assertTables(t, db, "backfill", false)
	assertVersion(t, db, "backfill", 0)

	if err := portfolio.Migrate(ctx, db.Pool, nil); err != nil {
		t.Fatalf("Migrate after MigrateDown: %v", err)
	}
	assertTables(t, db, "backfill", true)
	assertVersion(t, db, "backfill", portfolio.LatestVersion())
	if err := portfolio.CheckSchema(ctx, db.Pool, ""); err != nil {
		t.Errorf("CheckSchema: %v", err)
	}
}

func TestMigrateIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	before := migrationRows(t, db, "backfill")
	for i := 0; i < 2; i++ {
		if err := portfolio.Migrate(ctx, db.Pool, nil); err != nil {
			t.Fatalf("Migrate on a migrated schema: %v", err)
		}
	}
	if after := migrationRows(t, db, "backfill"); after != before {
		t.Errorf("schema_migrations changed by a repeated Migrate:\nbefore %s\nafter  %s", before, after)
	}
	assertVersion(t, db, "backfill", portfolio.LatestVersion())
}

func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	const schema = "mig_conc"
	const callers = 4
	errs := make([]error, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-start
			errs[i] = portfolio.Migrate(ctx, db.Pool, &portfolio.MigrateOpts{Schema: schema})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate %d: %v", i, err)
		}
	}
	assertTables(t, db, schema, true)
	assertVersion(t, db, schema, portfolio.LatestVersion())
	var rows int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM mig_conc.schema_migrations`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(portfolio.Migrations()) {
		t.Errorf("mig_conc.schema_migrations has %d rows, want %d (one per migration)", rows, len(portfolio.Migrations()))
	}
}

func TestMigrateCustomSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	schema, err := portfolio.ParseSchema("tenant_7")
	if err != nil {
		t.Fatal(err)
	}
	if err := portfolio.Migrate(ctx, db.Pool, &portfolio.MigrateOpts{Schema: schema}); err != nil {
		t.Fatalf("Migrate into %s: %v", schema, err)
	}
	assertTables(t, db, "tenant_7", true)
	assertVersion(t, db, "tenant_7", portfolio.LatestVersion())
	if err := portfolio.CheckSchema(ctx, db.Pool, schema); err != nil {
		t.Errorf("CheckSchema(%s): %v", schema, err)
	}

	// The schemas are independent: reverting one leaves the other.
	if err := portfolio.MigrateDown(ctx, db.Pool, &portfolio.MigrateOpts{Schema: schema}); err != nil {
		t.Fatalf("MigrateDown %s: %v", schema, err)
	}
	assertTables(t, db, "tenant_7", false)
	assertTables(t, db, "backfill", true)

	// Nothing lands in the public schema.
	var public int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&public); err != nil {
		t.Fatal(err)
	}
	if public != 0 {
		t.Errorf("%d tables in schema public, want 0", public)
	}
}

func TestMigrateRejectsInvalidSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	for _, tc := range []struct {
		schema string
		want   string
	}{
		{"Tenant", "lower-case letters"},
		{"1tenant", "starting with a letter"},
		{`x"; DROP SCHEMA backfill CASCADE; --`, "lower-case letters"},
		{"pg_tenant", "reserved"},
		{strings.Repeat("s", 64), "longer than 63"},
	} {
		if _, err := portfolio.ParseSchema(tc.schema); err == nil {
			t.Errorf("ParseSchema(%q) accepted it", tc.schema)
		}
		for name, migrate := range map[string]func(context.Context, portfolio.Beginner, *portfolio.MigrateOpts) error{
			"Migrate":     portfolio.Migrate,
			"MigrateDown": portfolio.MigrateDown,
		} {
			err := migrate(ctx, db.Pool, &portfolio.MigrateOpts{Schema: portfolio.Schema(tc.schema)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s with schema %q: %v, want an error saying %q", name, tc.schema, err, tc.want)
			}
		}
	}
	var schemas int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname NOT LIKE 'pg\_%' AND nspname NOT IN ('information_schema', 'public', 'backfill')`).Scan(&schemas); err != nil {
		t.Fatal(err)
	}
	if schemas != 0 {
		t.Errorf("%d schemas created by rejected migrations, want 0", schemas)
	}
	assertTables(t, db, "backfill", true)
}

func TestMigrateRejectsUnknownTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := portfoliotest.NewDB(t)
	for _, target := range []int{-1, portfolio.LatestVersion() + 1} {
		if err := portfolio.Migrate(ctx, db.Pool, &portfolio.MigrateOpts{Target: target}); err == nil {
			t.Errorf("Migrate to version %d succeeded", target)
		}
		if err := portfolio.MigrateDown(ctx, db.Pool, &portfolio.MigrateOpts{Target: target}); err == nil {
			t.Errorf("MigrateDown to version %d succeeded", target)
		}
	}
	assertVersion(t, db, "backfill", portfolio.LatestVersion())
}

// assertTables checks that the migrated tables exist in schema, or not.
func assertTables(t *testing.T, db *portfoliotest.DB, schema string, exist bool) {
	t.Helper()
	for _, table := range migratedTables {
		var found bool
		err := db.Pool.QueryRow(context.Background(), `SELECT to_regclass($1) IS NOT NULL`, schema+"."+table).Scan(&found)
		if err != nil {
			t.Fatal(err)
		}
		if found != exist {
			t.Errorf("table %s.%s exists: %v, want %v", schema, table, found, exist)
		}
	}
}

func assertVersion(t *testing.T, db *portfoliotest.DB, schema string, want int) {
	t.Helper()
	current, _, err := portfolio.SchemaVersion(context.Background(), db.Pool, portfolio.Schema(schema))
	if err != nil {
		t.Fatal(err)
	}
	if current != want {
		t.Errorf("schema %s at version %d, want %d", schema, current, want)
	}
}

// migrationRows returns schema_migrations as text, applied_at included.
func migrationRows(t *testing.T, db *portfoliotest.DB, schema string) string {
	t.Helper()
	var s string
	err := db.Pool.QueryRow(context.Background(),
		`SELECT coalesce(string_agg(version || ' ' || name || ' ' || applied_at, '; ' ORDER BY version), '') FROM `+schema+`.schema_migrations`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Migration 0008 stores the correlation matrices compactly (the pairs
// above the diagonal); the correlation_matrices view reads the same rows
// before and after it, and reverting it restores the stored arrays.
func TestMigrateCompactCorrelationSets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, exec, texts := migratedTo(t, 7)
	// Three holdings, the pair (B, C) missing; and a one-holding set.
	exec(`INSERT INTO backfill.correlation_sets (portfolio_id, as_of_date, symbols, market_values, correlations, observations, clusters)
		VALUES ('00000000-0000-0000-0000-000000000001', '2024-06-28', '{A,B,C}', '{3,2,1}',
		        '{1,0.5,-0.25, 0.5,1,NULL, -0.25,NULL,1}', '{90,88,60, 88,89,20, 60,20,61}', '{1,2,3}'),
		       ('00000000-0000-0000-0000-000000000001', '2024-07-01', '{A}', '{3}', '{1}', '{90}', '{1}')`)
	const view = `SELECT string_agg(format('%s %s %s %s %s', as_of_date, symbol_a, symbol_b, correlation, observations), '; '
		ORDER BY as_of_date, symbol_a, symbol_b) FROM backfill.correlation_matrices`
	const table = `SELECT string_agg(format('%s %s %s', as_of_date, correlations, observations), '; ' ORDER BY as_of_date)
		FROM backfill.correlation_sets`
	before, stored := texts(view), texts(table)
	if err := portfolio.Migrate(ctx, db.Pool, nil); err != nil {
		t.Fatal(err)
	}
	if after := texts(view); after != before {
		t.Errorf("correlation_matrices after 0008:\n%s\nwant\n%s", after, before)
	}
	compact := texts(`SELECT string_agg(format('%s %s %s', pair_correlations, pair_observations, return_counts), '; '
		ORDER BY as_of_date) FROM backfill.correlation_sets`)
	if want := "{0.5,-0.25,NULL} {88,60,20} {90,89,61}; {} {} {90}"; compact != want {
		t.Errorf("compact rows %s, want %s", compact, want)
	}
	if err := portfolio.MigrateDown(ctx, db.Pool, &portfolio.MigrateOpts{Target: 7}); err != nil {
		t.Fatal(err)
	}
	if got := texts(table); got != stored {
		t.Errorf("after reverting 0008:\n%s\nwant\n%s", got, stored)
	}
	if got := texts(view); got != before {
		t.Errorf("correlation_matrices after reverting 0008:\n%s\nwant\n%s", got, before)
	}
}

// Migration 0010 leaves the correlated stress P&L to the view: rows stored
// before keep theirs, a row after it is computed from the day's exposures
// and the plan's moves (by hand below), and reverting stores it back.
func TestMigrateStressMoves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, exec, texts := migratedTo(t, 9)
	// Two scenarios over the factors Market and Rate; the exposures
	// Market 1000, Value 7 and Rate −200.
	const run = `INSERT INTO backfill.batch_runs (portfolio_id, id, trigger, status, factors, stress_scenarios,
		    stress_categories, stress_factors_missing, stress_factors, stress_shocks)
		VALUES ('00000000-0000-0000-0000-000000000001', '%s', 'manual', 'completed', '{Market,Value,Rate}',
		        '{down,rates}', '{market,rates}', '{"",""}', '{Market,Rate}', '{-0.1,NULL,NULL,-0.17}')`
	const snap = `INSERT INTO backfill.portfolio_snapshots (portfolio_id, snapshot_date, nav, cash, long_value, short_value,
		    gross_exposure, net_exposure, daily_pnl, daily_realized_pnl, cumulative_pnl, capital_flow, num_positions,
		    num_long, num_short, stale_positions, unpriced_positions, batch_run_id, factor_exposure_dollar, stress_correlated_pnl)
		VALUES ('00000000-0000-0000-0000-000000000001', '%s', 2000, 0, 2000, 0, 2000, 2000, 0, 0, 0, 0, 1, 1, 0, 0, 0,
		        '%s', '{1000,7,-200}', %s)`
	exec(fmt.Sprintf(run, "00000000-0000-0000-0000-00000000000a"))
	exec(fmt.Sprintf(snap, "2024-06-27", "00000000-0000-0000-0000-00000000000a", `'{-120.5,NULL}'`))
	const view = `SELECT string_agg(format('%s %s %s %s %s', result_date, scenario, direct_pnl, correlated_pnl, correlated_return), '; '
		ORDER BY result_date, scenario) FROM backfill.stress_test_results`
	before := texts(view)
	if want := "2024-06-27 down -100 -120.5 -0.06025; 2024-06-27 rates 34  "; before != want {
		t.Fatalf("before 0010: %q, want %q", before, want)
	}
	if err := portfolio.Migrate(ctx, db.Pool, nil); err != nil {
		t.Fatal(err)
	}
	if got := texts(view); got != before {
		t.Errorf("stored rows after 0010:\n%s\nwant\n%s", got, before)
	}
	// A day written after 0010: down moves Market −0.1 and Rate 0.02,
	// rates moves Market −0.005 and Rate −0.17 (and a day without moves).
	exec(fmt.Sprintf(run, "00000000-0000-0000-0000-00000000000b"))
	exec(`UPDATE backfill.batch_runs SET stress_plan = 42 WHERE id = '00000000-0000-0000-0000-00000000000b'`)
	exec(fmt.Sprintf(snap, "2024-06-28", "00000000-0000-0000-0000-00000000000b", "NULL"))
	exec(fmt.Sprintf(snap, "2024-07-01", "00000000-0000-0000-0000-00000000000b", "NULL"))
	exec(`INSERT INTO backfill.stress_moves (plan, as_of_date, moves) VALUES (42, '2024-06-28', '{-0.1,0.02,-0.005,-0.17}'),
		(42, '2024-07-01', NULL)`)
	// down: 1000 × −0.1 + (−200) × 0.02 = −104; rates: −5 + 34 = 29.
	after := texts(view)
	if want := before + "; 2024-06-28 down -100 -104 -0.052; 2024-06-28 rates 34 29 0.0145; " +
		"2024-07-01 down -100  ; 2024-07-01 rates 34  "; after != want {
		t.Errorf("after 0010:\n%s\nwant\n%s", after, want)
	}
	if err := portfolio.MigrateDown(ctx, db.Pool, &portfolio.MigrateOpts{Target: 9}); err != nil {
		t.Fatal(err)
	}
	if got := texts(view); got != after {
		t.Errorf("after reverting 0010:\n%s\nwant\n%s", got, after)
	}
	if got := texts(`SELECT string_agg(snapshot_date || ' ' || coalesce(stress_correlated_pnl, '-'), '; ' ORDER BY snapshot_date)
		FROM backfill.portfolio_snapshots`); got != "2024-06-27 {-120.5,NULL}; 2024-06-28 {-104,29}; 2024-07-01 {NULL,NULL}" {
		t.Errorf("stored after reverting 0010: %s", got)
	}
}

// migratedTo returns a database migrated down to version target, holding
// one portfolio (…0001), and helpers to run a statement and to read one
// text.
func migratedTo(t *testing.T, target int) (db *portfoliotest.DB, exec func(string), texts func(string) string) {
	t.Helper()
	ctx := context.Background()
	db = portfoliotest.NewDB(t)
	if err := portfolio.MigrateDown(ctx, db.Pool, &portfolio.MigrateOpts{Target: target}); err != nil {
		t.Fatal(err)
	}
	exec = func(sql string) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	texts = func(sql string) string {
		t.Helper()
		var s string
		if err := db.Pool.QueryRow(ctx, sql).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	exec(`INSERT INTO backfill.portfolios (id, owner_id, name, account_name, account_type, starting_equity, inception_date)
		VALUES ('00000000-0000-0000-0000-000000000001', 'o', 'p', 'a', 'other', 1000, '2024-01-02')`)
	return db, exec, texts
}
