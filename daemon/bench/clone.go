package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
)

// clonedTables are the tables a clone copies from its template, parents
// first: portfolios and every table holding per-portfolio rows the engine
// reads or writes. Each is copied whole for the template's rows, with the
// clone's id in place of the template's (and a name and account of its
// own in portfolios). cloneTemplates fails when the schema holds a
// per-portfolio table (a portfolio_id column, or a foreign key to
// portfolios) missing here: a migration adding one must add it here too.
var clonedTables = []string{
	"portfolios", "positions", "capital_flows", "batch_runs", "backfill_state",
	"portfolio_snapshots", "correlation_sets", "portfolio_rolling_state",
}

// checkedTables are the engine's per-portfolio outputs: checkClones
// compares every column of them but computed_at, batch_run_id and
// updated_at.
var checkedTables = []string{"portfolio_snapshots", "correlation_sets", "portfolio_rolling_state"}

// cloneTemplates clones the templates (the portfolios, accounts bench-000001
// to bench-T) into portfolios T+1 to n, clone c copying template (c−1) mod T,
// through a map table bench_clones the caller drops.
func cloneTemplates(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema, templates, n int, progress func(string, ...any)) error {
	var missing []string
	rows, err := pool.Query(ctx, `
		SELECT c.relname FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		WHERE ns.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> 'portfolios' AND (
		      EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'portfolio_id' AND NOT a.attisdropped)
		   OR EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f'
		              AND k.confrelid = to_regclass(quote_ident($1) || '.portfolios')))
		ORDER BY 1`, schema.Name())
	if err != nil {
		return fmt.Errorf("clone: list tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("clone: list tables: %w", err)
	}
	for _, t := range tables {
		if !slices.Contains(clonedTables, t) {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("clone: per-portfolio table(s) %s not in clonedTables: add them there", strings.Join(missing, ", "))
	}

	if _, err := pool.Exec(ctx, schema.SQL(`
		CREATE TABLE {schema}.bench_clones AS
		WITH t AS (SELECT id, row_number() OVER (ORDER BY account_name) - 1 AS k FROM {schema}.portfolios)
		SELECT t.id AS template_id, gen_random_uuid() AS clone_id, c AS n
		FROM generate_series($1::int + 1, $2::int) c JOIN t ON t.k = (c - 1) % $1::int`), templates, n); err != nil {
		return fmt.Errorf("clone: map: %w", err)
	}
	for _, table := range clonedTables {
		rows, err := pool.Query(ctx, `
			SELECT column_name FROM information_schema.columns
			WHERE table_schema = $1 AND table_name = $2 AND is_generated = 'NEVER'
			ORDER BY ordinal_position`, schema.Name(), table)
		if err != nil {
			return fmt.Errorf("clone %s: %w", table, err)
		}
		cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("clone %s: %w", table, err)
		}
		key := "portfolio_id"
		if table == "portfolios" {
			key = "id"
		}
		exprs := make([]string, len(cols))
		for i, c := range cols {
			q := pgx.Identifier{c}.Sanitize()
			exprs[i] = "t." + q
			switch {
			case c == key:
				exprs[i] = "m.clone_id"
			case table == "portfolios" && c == "name":
				exprs[i] = "'Bench ' || m.n"
			case table == "portfolios" && c == "account_name":
				exprs[i] = "'bench-' || lpad(m.n::text, greatest(6, length(m.n::text)), '0')"
			}
			cols[i] = q
		}
		t := time.Now()
		tag, err := pool.Exec(ctx, schema.SQL(fmt.Sprintf(`
			INSERT INTO {schema}.%s (%s)
			SELECT %s FROM {schema}.%s t JOIN {schema}.bench_clones m ON t.%s = m.template_id`,
			table, strings.Join(cols, ", "), strings.Join(exprs, ", "), table, key)))
		if err != nil {
			return fmt.Errorf("clone %s: %w", table, err)
		}
		if _, err := pool.Exec(ctx, schema.SQL(`VACUUM (ANALYZE) {schema}.`+table)); err != nil {
			return fmt.Errorf("vacuum %s: %w", table, err)
		}
		progress("clone: %s, %d rows in %s (vacuumed)", table, tag.RowsAffected(), time.Since(t).Round(time.Millisecond))
	}
	return nil
}

// checkClones recomputes up to f.Checks clones with a fresh engine from
// their first day through through, and fails unless every row of
// checkedTables is what the clone held before. It returns how many it
// checked.
func checkClones(ctx context.Context, pool *pgxpool.Pool, f *Options, schema portfolio.Schema, w *world, through time.Time) (int, error) {
	rows, err := pool.Query(ctx, schema.SQL(`
		SELECT clone_id FROM {schema}.bench_clones ORDER BY md5(clone_id::text) LIMIT $1`), f.Checks)
	if err != nil {
		return 0, fmt.Errorf("check: %w", err)
	}
	clones, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, fmt.Errorf("check: %w", err)
	}
	engine, err := batch.NewEngine(pool, &batch.Config{
		Schema: schema, Worker: "check", Now: w.now,
		Analytics: batch.AnalyticsConfig{Disabled: !f.Analytics},
	})
	if err != nil {
		return 0, err
	}
	for _, id := range clones {
		before, err := outputRows(ctx, pool, schema, id)
		if err != nil {
			return 0, err
		}
		res, err := engine.Backfill(ctx, id, &batch.BackfillOpts{From: w.first, Through: through})
		if err != nil {
			return 0, fmt.Errorf("check: recompute clone %s: %w", id, err)
		}
		after, err := outputRows(ctx, pool, schema, id)
		if err != nil {
			return 0, err
		}
		if res.DaysWritten == 0 {
			return 0, fmt.Errorf("check: recomputing clone %s wrote no days", id)
		}
		for _, table := range checkedTables {
			b, a := before[table], after[table]
			if len(b) != len(a) {
				return 0, fmt.Errorf("check: clone %s: %s holds %d rows, the engine computes %d", id, table, len(b), len(a))
			}
			for i := range b {
				if b[i] != a[i] {
					return 0, fmt.Errorf("check: clone %s: %s differs from the engine's:\n  cloned   %s\n  computed %s", id, table, b[i], a[i])
				}
			}
		}
	}
	return len(clones), nil
}

// outputRows returns the portfolio's rows of each of checkedTables as JSON
// texts without computed_at, batch_run_id and updated_at, sorted.
func outputRows(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema, id uuid.UUID) (map[string][]string, error) {
	out := map[string][]string{}
	for _, table := range checkedTables {
		rows, err := pool.Query(ctx, schema.SQL(`
			SELECT (to_jsonb(t) - 'computed_at' - 'batch_run_id' - 'updated_at')::text FROM {schema}.`+table+` t
			WHERE portfolio_id = $1 ORDER BY 1`), id)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", table, err)
		}
		if out[table], err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return nil, fmt.Errorf("check %s: %w", table, err)
		}
	}
	return out, nil
}
