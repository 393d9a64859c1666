-- What a one-day advance needs of a portfolio's past, kept compactly so
-- that the nightly advance reads one row per portfolio instead of its
-- snapshots: the chain carried into the next day and the return and
-- volatility windows of the risk analytics. Written in the same
-- transaction as the snapshot rows it summarises, and trusted only while
-- through equals the portfolio's watermark and rewind_seq its rewind
-- counter (backfill_state); otherwise the engine reads the snapshots.
CREATE TABLE portfolio_rolling_state (
    portfolio_id   uuid PRIMARY KEY REFERENCES portfolios (id),
    -- The last snapshot day the state covers.
    through        date NOT NULL,
    -- backfill_state.rewind_seq when the writing backfill loaded it.
    rewind_seq     bigint NOT NULL,
    -- The chain on through: NAV, cumulative P&L, return index, max
    -- drawdown and the return index's running maximum.
    nav            double precision NOT NULL,
    cum_pnl        double precision NOT NULL,
    return_index   double precision NOT NULL,
    max_drawdown   double precision NOT NULL,
    peak_index     double precision NOT NULL,
    -- Little-endian float64 arrays, so that every value round-trips
    -- exactly. window_returns: the daily returns of the sessions ending on
    -- through, one per session, NaN where there is none. har_returns and
    -- vols: the last non-null daily returns and volatility_21d values up
    -- to through, oldest first.
    window_returns bytea NOT NULL,
    har_returns    bytea NOT NULL,
    vols           bytea NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
