package bench

import (
	"context"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigmasight/backfill/daemon"
	"github.com/sigmasight/backfill/portfolio"
)

// planSizes are the sizes of backfill_state ModePlans explains the claim
// at, besides Options.Portfolios, the largest.
var planSizes = []int{10_000, 100_000}

// PlanFigure is the claim's plan at one size and situation.
type PlanFigure struct {
	Portfolios int    `json:"portfolios"`
	Situation  string `json:"situation"`
	Claimed    int    `json:"claimed"`
	// Buffers is the shared buffers the claim touched (hit + read), from
	// EXPLAIN (ANALYZE, BUFFERS).
	Buffers     int64   `json:"buffers"`
	ExecutionMS float64 `json:"execution_ms"`
	SeqScan     bool    `json:"seq_scan"`
	Plan        string  `json:"plan,omitempty"`
}

// PlansReport is what ModePlans measured.
type PlansReport struct {
	// ClaimSize is the portfolios claimed at once: Options.Concurrency.
	ClaimSize int          `json:"claim_size"`
	Plans     []PlanFigure `json:"plans"`
	// StatusMS is, per size, the time of the state gauges' refresh
	// (Reconciler.Status), which scans backfill_state and runs at most
	// every few seconds per replica.
	StatusMS map[int]float64 `json:"status_ms"`
}

// planSituations are the situations ModePlans explains the claim in: the
// world holds every portfolio with a watermark of D−1.
var planSituations = []struct {
	name  string
	setup string // run before, undone after
	undo  string
	// target is the day the claim targets, 0 for D−1 and 1 for D.
	target int
}{
	{"none due (all current)", "", "", 0},
	{"all one day behind (after a close)", "", "", 1},
	{"50 behind, 20 requested", `
		UPDATE {schema}.backfill_state SET snapshot_through = snapshot_through - 1
		WHERE portfolio_id IN (SELECT portfolio_id FROM {schema}.backfill_state ORDER BY portfolio_id LIMIT 50);
		UPDATE {schema}.backfill_state SET requested_at = now()
		WHERE portfolio_id IN (SELECT portfolio_id FROM {schema}.backfill_state ORDER BY portfolio_id DESC LIMIT 20)`, `
		UPDATE {schema}.backfill_state SET snapshot_through = snapshot_through + 1
		WHERE portfolio_id IN (SELECT portfolio_id FROM {schema}.backfill_state ORDER BY portfolio_id LIMIT 50);
		UPDATE {schema}.backfill_state SET requested_at = NULL WHERE requested_at IS NOT NULL`, 0},
}

var buffersRE = regexp.MustCompile(`Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?`)
var executionRE = regexp.MustCompile(`Execution Time: ([0-9.]+) ms`)

// runPlans fills backfill_state with state rows only (and the portfolio
// rows they reference) up to f.Portfolios and explains the claim at each
// size of planSizes below it and at f.Portfolios.
func runPlans(ctx context.Context, pool *pgxpool.Pool, f *Options, schema portfolio.Schema, rep *Report, progress func(string, ...any)) error {
	// A sweep claims as many portfolios as its replica has free slots:
	// at most Concurrency.
	p := &PlansReport{ClaimSize: f.Concurrency, StatusMS: map[int]float64{}}
	rep.PlansReport = p
	day, _ := time.Parse(time.DateOnly, LastSession)
	prev := day.AddDate(0, 0, -1)
	r, err := daemon.New(pool, &daemon.Config{Schema: schema, NotifyChannel: schema.Name()})
	if err != nil {
		return err
	}
	var sizes []int
	for _, n := range planSizes {
		if n < f.Portfolios {
			sizes = append(sizes, n)
		}
	}
	sizes = append(sizes, f.Portfolios)
	have := 0
	for _, n := range sizes {
		t := time.Now()
		if _, err := pool.Exec(ctx, schema.SQL(`
			INSERT INTO {schema}.portfolios (id, owner_id, name, account_name, account_type, starting_equity, inception_date)
			SELECT gen_random_uuid(), 'bench', 'Bench ' || i, 'bench-' || i, 'taxable', 1000000, '2024-01-02'
			FROM generate_series($1::int + 1, $2::int) i`), have, n); err != nil {
			return fmt.Errorf("fill portfolios: %w", err)
		}
		if _, err := pool.Exec(ctx, schema.SQL(`
			INSERT INTO {schema}.backfill_state (portfolio_id, status, snapshot_through, target_date, next_attempt_at)
			SELECT id, 'current', $1::date, $1::date, now() - interval '1 day' FROM {schema}.portfolios
			WHERE id NOT IN (SELECT portfolio_id FROM {schema}.backfill_state)`), prev); err != nil {
			return fmt.Errorf("fill backfill_state: %w", err)
		}
		// INDEX_CLEANUP ON: with few dead tuples (those of the previous
		// size's situations) VACUUM would leave their index entries, and
		// the next claim would step over them once.
		for _, table := range []string{"portfolios", "backfill_state"} {
			if _, err := pool.Exec(ctx, schema.SQL(`VACUUM (ANALYZE, INDEX_CLEANUP ON) {schema}.`+table)); err != nil {
				return fmt.Errorf("vacuum %s: %w", table, err)
			}
		}
		have = n
		progress("plans: %d state rows in %s", n, time.Since(t).Round(time.Millisecond))
		for _, s := range planSituations {
			if s.setup != "" {
				if _, err := pool.Exec(ctx, schema.SQL(s.setup)); err != nil {
					return fmt.Errorf("plans %s: %w", s.name, err)
				}
			}
			target := prev.AddDate(0, 0, s.target)
			fig, err := explainClaim(ctx, pool, schema, target, p.ClaimSize)
			if err != nil {
				return err
			}
			fig.Portfolios, fig.Situation = n, s.name
			p.Plans = append(p.Plans, fig)
			progress("plans: %d portfolios, %s: claimed %d, %d buffers, %.2f ms", n, s.name, fig.Claimed, fig.Buffers, fig.ExecutionMS)
			if s.undo != "" {
				if _, err := pool.Exec(ctx, schema.SQL(s.undo)); err != nil {
					return fmt.Errorf("plans %s: %w", s.name, err)
				}
			}
		}
		t = time.Now()
		if _, err := r.Status(ctx, day, 0); err != nil {
			return err
		}
		p.StatusMS[n] = float64(time.Since(t).Microseconds()) / 1000
	}
	return nil
}

// explainClaim runs the claim of n portfolios under EXPLAIN (ANALYZE,
// BUFFERS) in a transaction it rolls back.
func explainClaim(ctx context.Context, pool *pgxpool.Pool, schema portfolio.Schema, target time.Time, n int) (PlanFigure, error) {
	var fig PlanFigure
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fig, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // nothing to keep
	rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+daemon.ClaimPlanSQL(schema), target, n, "explain", 60.0)
	if err != nil {
		return fig, fmt.Errorf("explain the claim: %w", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fig, fmt.Errorf("explain the claim: %w", err)
	}
	fig.Plan = strings.Join(lines, "\n")
	fig.SeqScan = strings.Contains(fig.Plan, "Seq Scan")
	// The top node's buffers are the whole statement's.
	for _, l := range lines {
		if m := buffersRE.FindStringSubmatch(l); m != nil {
			hit, _ := strconv.ParseInt(m[1], 10, 64)
			read, _ := strconv.ParseInt(m[2], 10, 64)
			fig.Buffers = hit + read
			break
		}
	}
	if m := executionRE.FindStringSubmatch(fig.Plan); m != nil {
		fig.ExecutionMS, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := regexp.MustCompile(`Update on backfill_state s\s+\(cost=[^)]*\) \(actual [^)]*rows=(\d+)`).FindStringSubmatch(fig.Plan); m != nil {
		fig.Claimed, _ = strconv.Atoi(m[1])
	}
	return fig, nil
}

// problems says where the claim's cost grew with the table: a sequential
// scan, or more than twice the buffers of the smallest size (plus a few
// pages of slack) in the same situation.
func (p *PlansReport) problems() error {
	var ps []string
	base := map[string]int64{}
	for _, fig := range p.Plans {
		if fig.SeqScan {
			ps = append(ps, fmt.Sprintf("%d portfolios, %s: a sequential scan", fig.Portfolios, fig.Situation))
		}
		b, ok := base[fig.Situation]
		if !ok {
			base[fig.Situation] = fig.Buffers
			continue
		}
		if fig.Buffers > 2*b+16 {
			ps = append(ps, fmt.Sprintf("%d portfolios, %s: %d buffers, against %d at the smallest size", fig.Portfolios, fig.Situation, fig.Buffers, b))
		}
	}
	if len(ps) > 0 {
		return fmt.Errorf("bench: the claim's cost grows with the portfolios: %s", strings.Join(ps, "; "))
	}
	return nil
}

// printPlans writes a ModePlans report as a table, with the claim's plan
// at the largest size after the close.
func printPlans(w io.Writer, r *Report) {
	p := r.PlansReport
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Claim of %d portfolios on %s (PostgreSQL %s), schema %s\n", p.ClaimSize, r.Database, r.ServerVersion, r.Schema)
	fmt.Fprintf(tw, "portfolios\tsituation\tclaimed\tbuffers\texecution\tseq scan\n")
	for _, fig := range p.Plans {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%.2f ms\t%v\n", fig.Portfolios, fig.Situation, fig.Claimed, fig.Buffers, fig.ExecutionMS, fig.SeqScan)
	}
	tw.Flush()
	sizes := slices.Sorted(maps.Keys(p.StatusMS))
	for _, n := range sizes {
		fmt.Fprintf(w, "state gauges' refresh (Reconciler.Status, at most every few seconds) at %d portfolios: %.1f ms\n", n, p.StatusMS[n])
	}
	for i := len(p.Plans) - 1; i >= 0; i-- {
		if fig := p.Plans[i]; planSituations[1].name == fig.Situation {
			fmt.Fprintf(w, "\nThe claim at %d portfolios, %s:\n%s\n", fig.Portfolios, fig.Situation, fig.Plan)
			break
		}
	}
}
