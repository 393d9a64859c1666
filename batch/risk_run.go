package batch

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// runRisk is what a backfill writes besides its snapshot rows: the stress
// plan, the days' moves under it and the latest day's correlation matrix.
type runRisk struct {
	plan   *stressPlan
	moves  []*stressDay
	matrix *CorrelationMatrix
}

// riskLookback is how many sessions before the first computed day the
// forecast, correlation and stress analytics read: the EWMA covariance's
// window and the correlation window reaching back from the half-year's
// first session.
func (e *Engine) riskLookback() int {
	return max(e.cfg.Analytics.Stress.EWMAWindow+1, CorrelationWindow+130)
}

// riskAnalytics computes the days' volatility forecast, trend and
// percentile, correlation scores and stress tests, after riskColumns, and
// leaves in res what the writes need besides the rows. h is the volatility
// history before the first day.
func (e *Engine) riskAnalytics(ctx context.Context, gen int64, lay *layer, hs []holding, first int,
	days []day, h volHistory, res *Result, w *warnings) error {
	volForecastColumns(days, h, w)

	c := correlationColumns(lay.ax, hs, first, days, e.cfg.StaleAfter, w, e.corr)
	k := len(days) - 1
	set, left := c.set(k, days[k].grossRaw, nil, true)
	cm := correlationMatrix(days[k].date, c, set, k, first+k, e.corr)
	cm.LeftOut = left
	if cm.Repaired {
		w.add(WarnCorrelation, "", "correlation matrix repaired to positive semi-definite", days[k].date)
	}
	risk := &runRisk{matrix: cm}
	if !e.cfg.Analytics.Stress.Disabled {
		plan, err := e.stressPlan(ctx, gen)
		if err != nil {
			return err
		}
		risk.plan, risk.moves = plan, e.stressColumns(gen, plan, lay, first, days, w)
	}
	res.risk = risk
	return nil
}

// queueRiskRun queues a chunk's other writes: the run's stress plan, the
// removal of correlation matrices stored for the chunk's days (they are
// recomputed), and with the last chunk the latest day's matrix.
func (e *Engine) queueRiskRun(b *pgx.Batch, id uuid.UUID, res *Result, first, last time.Time, final bool) {
	var plan *stressPlan
	var cm *CorrelationMatrix
	if res.risk != nil {
		plan, cm = res.risk.plan, res.risk.matrix
	}
	ids, cats, missing, factors, shocks := plan.runColumns()
	b.Queue(e.sql(`
		UPDATE {schema}.batch_runs SET stress_scenarios = $3, stress_categories = $4, stress_factors_missing = $5,
		       stress_factors = $6, stress_shocks = $7, stress_plan = $8
		WHERE portfolio_id = $1 AND id = $2`), id, res.RunID, ids, cats, missing, factors, shocks, plan.keyOrNil())
	b.Queue(e.sql(`DELETE FROM {schema}.correlation_sets WHERE portfolio_id = $1 AND as_of_date BETWEEN $2 AND $3`),
		id, first, last)
	if final && cm != nil {
		queueCorrelationSet(b, e.sql(upsertCorrelationSetSQL), id, res.RunID, cm)
	}
}

const upsertCorrelationSetSQL = `
	INSERT INTO {schema}.correlation_sets (portfolio_id, as_of_date, symbols, market_values, pair_correlations,
	                                       pair_observations, return_counts, clusters, repaired, batch_run_id, computed_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
	ON CONFLICT (portfolio_id, as_of_date) DO UPDATE SET symbols = excluded.symbols,
	    market_values = excluded.market_values, pair_correlations = excluded.pair_correlations,
	    pair_observations = excluded.pair_observations, return_counts = excluded.return_counts,
	    clusters = excluded.clusters, repaired = excluded.repaired,
	    batch_run_id = excluded.batch_run_id, computed_at = excluded.computed_at`

// correlationSetColumns are the columns of correlationSetRow.
var correlationSetColumns = []string{"portfolio_id", "as_of_date", "symbols", "market_values", "pair_correlations",
	"pair_observations", "return_counts", "clusters", "repaired", "batch_run_id"}

// queueCorrelationSet queues the matrix's row.
func queueCorrelationSet(b *pgx.Batch, sql string, id, runID uuid.UUID, cm *CorrelationMatrix) {
	b.Queue(sql, correlationSetRow(id, runID, cm)...)
}

// correlationSetRow is the matrix's row of correlation_sets
// (correlationSetColumns): the pairs above the diagonal row by row, NULL
// for a missing pair, and the diagonal's returns per holding.
func correlationSetRow(id, runID uuid.UUID, cm *CorrelationMatrix) []any {
	n := len(cm.Symbols)
	corr := make([]*float64, 0, n*(n-1)/2)
	vals := make([]float64, 0, n*(n-1)/2)
	obs := make([]int16, 0, n*(n-1)/2)
	counts := make([]int16, n)
	for i := range n {
		counts[i] = int16(cm.Observations[i][i])
		for j := i + 1; j < n; j++ {
			if v := cm.Correlation[i][j]; math.IsNaN(v) {
				corr = append(corr, nil)
			} else {
				vals = append(vals, v)
				corr = append(corr, &vals[len(vals)-1])
			}
			obs = append(obs, int16(cm.Observations[i][j]))
		}
	}
	cl := make([]int32, n)
	mv := make([]float64, n)
	for i := range n {
		cl[i] = int32(cm.Clusters[i])
		mv[i] = round4(cm.MarketValues[i])
	}
	var run *uuid.UUID
	if runID != uuid.Nil {
		run = &runID
	}
	return []any{id, cm.Date, cm.Symbols, mv, corr, obs, counts, cl, cm.Repaired, run}
}

// appendCorrelationSet appends the matrix's row of correlationSetColumns
// to a binary COPY: the values correlationSetRow holds.
func appendCorrelationSet(w *copyRows, id, runID uuid.UUID, cm *CorrelationMatrix) {
	n := len(cm.Symbols)
	w.row(len(correlationSetColumns))
	w.uuid(id)
	w.date(cm.Date)
	w.textArray(cm.Symbols)
	w.float8Array(n, func(k int) (float64, bool) { return round4(cm.MarketValues[k]), true })
	// The pairs above the diagonal, row by row: (i, j) for the k-th.
	pi, pj := make([]int, 0, n*(n-1)/2), make([]int, 0, n*(n-1)/2)
	for i := range n {
		for j := i + 1; j < n; j++ {
			pi, pj = append(pi, i), append(pj, j)
		}
	}
	w.float8Array(len(pi), func(k int) (float64, bool) { return cm.Correlation[pi[k]][pj[k]], true })
	w.int2Array(len(pi), func(k int) int { return cm.Observations[pi[k]][pj[k]] })
	w.int2Array(n, func(k int) int { return cm.Observations[k][k] })
	w.int4Array(n, func(k int) int { return cm.Clusters[k] })
	w.boolean(cm.Repaired)
	if runID == uuid.Nil {
		w.null()
	} else {
		w.uuid(runID)
	}
}

// CorrelationOpts are options of Engine.Correlations.
type CorrelationOpts struct {
	// Store writes the matrix and clusters to correlation_sets (read
	// through correlation_matrices and correlation_clusters), replacing
	// any stored for that day.
	Store bool
}

// Correlations computes the correlation matrix and clusters of a
// portfolio's holdings on date (the session on or before it) from the
// stored positions and prices, as a backfill computes them for its latest
// day.
func (e *Engine) Correlations(ctx context.Context, portfolioID uuid.UUID, date time.Time, opts *CorrelationOpts) (*CorrelationMatrix, error) {
	cal := e.cfg.Calendar
	d := dateOf(date)
	if !cal.IsSession(d) {
		d = PrevSession(cal, d)
	}
	p, err := e.loadPortfolio(ctx, e.pool, portfolioID, uuid.Nil)
	if err != nil {
		return nil, err
	}
	axisFrom := d
	for range max(CorrelationWindow+1, e.cfg.StaleAfter+2) {
		axisFrom = PrevSession(cal, axisFrom)
	}
	ax := newAxis(cal, axisFrom, d)
	closes, gen, err := e.loadCloses(ctx, p, symbolsOf(p.positions, e.cfg.Benchmark), axisFrom, d)
	if err != nil {
		return nil, err
	}
	lay := newLayer(ax, closes, e.series, gen)
	hs, _ := e.holdings(lay, p.positions)
	di := ax.len() - 1
	var gross float64
	for i := range hs {
		h := &hs[i]
		if h.entry <= di && di < h.exit {
			px, _ := h.price(di, e.cfg.StaleAfter)
			gross += math.Abs(h.qm * px)
		}
	}
	c := gatherCorrSymbols(hs, di, di, e.cfg.StaleAfter, func(s *series) []float64 { return logReturns(s, 0, di) })
	set, left := c.set(0, gross, nil, true)
	cm := correlationMatrix(d, c, set, 0, di, e.corr)
	cm.LeftOut = left
	if opts != nil && opts.Store {
		b := &pgx.Batch{}
		queueCorrelationSet(b, e.sql(upsertCorrelationSetSQL), portfolioID, uuid.Nil, cm)
		if err := e.pool.SendBatch(ctx, b).Close(); err != nil {
			return nil, fmt.Errorf("store correlations %s: %w", portfolioID, err)
		}
	}
	return cm, nil
}
