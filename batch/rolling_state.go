package batch

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// rollingState is what the next day's analytics need of a portfolio's
// past, as of its through day (table portfolio_rolling_state): the chain
// carried into the next day, the daily returns of the last window sessions
// (NaN where a session has none), and the last non-null returns and
// volatility_21d values the forecast, trend and percentile read. It holds
// exactly what loadChain, loadHistory and loadVolHistory read from the
// snapshots, so a backfill may start from either.
type rollingState struct {
	through   time.Time
	rewindSeq int64
	chain     chain
	window    []float64
	har       []float64
	vols      []float64
}

// rollingInputs is what a backfill's compute reads of the days before its
// first: from the rolling state when it is valid, else from the snapshots.
type rollingInputs struct {
	chain   chain
	history map[time.Time]float64 // daily returns by session (analytics on)
	vol     volHistory
	// fromState: the inputs came from the rolling state.
	fromState bool
}

// rollingWindow is how many sessions of daily returns the volatility and
// realized beta windows read before a backfill's first day.
func (e *Engine) rollingWindow() int {
	return max(e.cfg.Analytics.VolLongWindow, e.cfg.Analytics.RealizedBetaWindow)
}

// rollingInputs returns the inputs of the days before ax.days[first]: the
// initial chain on the inception day, else the rolling state when it
// covers exactly the day before first under the portfolio's current
// watermark and rewind counter, else what the snapshots say.
func (e *Engine) rollingInputs(ctx context.Context, p *portfolioData, ax *axis, first int, inception time.Time) (rollingInputs, error) {
	in := rollingInputs{chain: chain{nav: p.startingEquity, index: 1, peak: 1}, history: map[time.Time]float64{}}
	if !ax.days[first].After(inception) {
		return in, nil
	}
	if rs := p.rolling; rs != nil && p.watermark != nil && first > 0 && rs.through.Equal(*p.watermark) &&
		rs.rewindSeq == p.rewindSeq && ax.days[first-1].Equal(rs.through) && len(rs.window) == e.rollingWindow() {
		in.chain, in.fromState = rs.chain, true
		n := len(rs.window)
		for j, r := range rs.window {
			if i := first - n + j; i >= 0 && !math.IsNaN(r) {
				in.history[ax.days[i]] = r
			}
		}
		in.vol = volHistory{returns: rs.har, vols: rs.vols}
		return in, nil
	}
	var err error
	if in.chain, err = e.loadChain(ctx, e.pool, p.id, ax.days[first-1]); err != nil {
		return in, err
	}
	if e.cfg.Analytics.Disabled {
		return in, nil
	}
	if in.history, err = e.loadHistory(ctx, p.id, ax.days[first], e.rollingWindow()); err != nil {
		return in, err
	}
	if in.vol, err = e.loadVolHistory(ctx, p.id, ax.days[first]); err != nil {
		return in, err
	}
	return in, nil
}

// newRollingState rolls in forward over the computed days [first,
// first+len(days)) of ax.
func newRollingState(ax *axis, first int, days []day, in rollingInputs, rewindSeq int64, window int) *rollingState {
	last := &days[len(days)-1]
	rs := &rollingState{through: last.date, rewindSeq: rewindSeq, window: make([]float64, window)}
	rs.chain = chain{nav: last.nav, cumPnL: last.cumPnL, index: last.index, maxDrawdown: last.maxDrawdown,
		peak: in.chain.peak, started: true}
	end := first + len(days) - 1
	for j := range rs.window {
		rs.window[j] = math.NaN()
		switch i := end - window + 1 + j; {
		case i >= first:
			if d := &days[i-first]; d.hasRet {
				rs.window[j] = d.ret
			}
		case i >= 0:
			if r, ok := in.history[ax.days[i]]; ok {
				rs.window[j] = r
			}
		}
	}
	rs.har = append([]float64(nil), in.vol.returns...)
	rs.vols = append([]float64(nil), in.vol.vols...)
	for k := range days {
		d := &days[k]
		rs.chain.peak = math.Max(rs.chain.peak, d.index)
		if d.hasRet {
			rs.har = append(rs.har, d.ret)
		}
		if d.hasVol21 {
			rs.vols = append(rs.vols, d.vol21)
		}
	}
	rs.har = rs.har[max(0, len(rs.har)-harReturns):]
	rs.vols = rs.vols[max(0, len(rs.vols)-VolPercentileValues):]
	return rs
}

// encodeFloats encodes xs as little-endian float64s: exact, NaN included.
func encodeFloats(xs []float64) []byte {
	b := make([]byte, 8*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}

func decodeFloats(b []byte) ([]float64, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("float array of %d bytes", len(b))
	}
	xs := make([]float64, len(b)/8)
	for i := range xs {
		xs[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return xs, nil
}

// rollingStateColumnsSQL are the columns scanRollingState reads.
const rollingStateColumnsSQL = `through, rewind_seq, nav, cum_pnl, return_index, max_drawdown, peak_index,
	window_returns, har_returns, vols`

// scanRollingState reads a row of rollingStateColumnsSQL, after any
// leading columns the caller passes in lead.
func scanRollingState(row pgx.Row, lead ...any) (*rollingState, error) {
	rs := &rollingState{chain: chain{started: true}}
	var w, h, v []byte
	dst := append(lead, &rs.through, &rs.rewindSeq, &rs.chain.nav, &rs.chain.cumPnL, &rs.chain.index,
		&rs.chain.maxDrawdown, &rs.chain.peak, &w, &h, &v)
	if err := row.Scan(dst...); err != nil {
		return nil, err
	}
	var err error
	if rs.window, err = decodeFloats(w); err == nil {
		if rs.har, err = decodeFloats(h); err == nil {
			rs.vols, err = decodeFloats(v)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("rolling state: %w", err)
	}
	return rs, nil
}

// upsertRollingStatesSQL writes the rolling states of many portfolios in
// one statement; both the per-portfolio writes and the batched advance
// use it.
const upsertRollingStatesSQL = `
	INSERT INTO {schema}.portfolio_rolling_state (portfolio_id, through, rewind_seq, nav, cum_pnl, return_index,
	                                              max_drawdown, peak_index, window_returns, har_returns, vols)
	SELECT * FROM unnest($1::uuid[], $2::date[], $3::int8[], $4::float8[], $5::float8[], $6::float8[],
	                     $7::float8[], $8::float8[], $9::bytea[], $10::bytea[], $11::bytea[])
	ON CONFLICT (portfolio_id) DO UPDATE SET through = excluded.through, rewind_seq = excluded.rewind_seq,
	    nav = excluded.nav, cum_pnl = excluded.cum_pnl, return_index = excluded.return_index,
	    max_drawdown = excluded.max_drawdown, peak_index = excluded.peak_index,
	    window_returns = excluded.window_returns, har_returns = excluded.har_returns, vols = excluded.vols,
	    updated_at = now()`

// queueRollingStates queues the upsert of the states of ids (nil states
// are skipped) and the removal of the others' stale rows.
func (e *Engine) queueRollingStates(b *pgx.Batch, ids []uuid.UUID, states []*rollingState) {
	n := len(ids)
	var (
		pids                       = make([]uuid.UUID, 0, n)
		through                    = make([]time.Time, 0, n)
		seqs                       = make([]int64, 0, n)
		nav, cum, index, mdd, peak = make([]float64, 0, n), make([]float64, 0, n), make([]float64, 0, n), make([]float64, 0, n), make([]float64, 0, n)
		window, har, vols          = make([][]byte, 0, n), make([][]byte, 0, n), make([][]byte, 0, n)
		stale                      []uuid.UUID
	)
	for i, id := range ids {
		rs := states[i]
		if rs == nil {
			stale = append(stale, id)
			continue
		}
		pids, through, seqs = append(pids, id), append(through, rs.through), append(seqs, rs.rewindSeq)
		nav, cum, index = append(nav, rs.chain.nav), append(cum, rs.chain.cumPnL), append(index, rs.chain.index)
		mdd, peak = append(mdd, rs.chain.maxDrawdown), append(peak, rs.chain.peak)
		window, har, vols = append(window, encodeFloats(rs.window)), append(har, encodeFloats(rs.har)), append(vols, encodeFloats(rs.vols))
	}
	if len(pids) > 0 {
		b.Queue(e.sql(upsertRollingStatesSQL), pids, through, seqs, nav, cum, index, mdd, peak, window, har, vols)
	}
	if len(stale) > 0 {
		b.Queue(e.sql(`DELETE FROM {schema}.portfolio_rolling_state WHERE portfolio_id = ANY($1)`), stale)
	}
}
