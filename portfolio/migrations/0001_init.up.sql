-- The initial schema. Every statement runs with search_path set to the
-- library's schema, so table names are unqualified here.

CREATE TABLE portfolios (
    id              uuid PRIMARY KEY,
    owner_id        varchar(255) NOT NULL CHECK (owner_id <> ''),
    name            varchar(255) NOT NULL CHECK (name <> ''),
    account_name    varchar(100) NOT NULL CHECK (account_name <> ''),
    account_type    text NOT NULL CHECK (account_type IN
                        ('taxable', 'ira', 'roth_ira', '401k', '403b', '529', 'hsa', 'trust', 'other')),
    description     varchar(2000) NOT NULL DEFAULT '',
    currency        char(3) NOT NULL DEFAULT 'USD',
    -- The equity the portfolio started with; immutable input. Validation
    -- accepts (0, 1e12] with at most 4 decimals.
    starting_equity numeric(20,4) NOT NULL CHECK (starting_equity > 0),
    inception_date  date NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);

-- An account name is unique per owner among live portfolios.
CREATE UNIQUE INDEX portfolios_owner_account_live_idx
    ON portfolios (owner_id, account_name) WHERE deleted_at IS NULL;

CREATE TABLE positions (
    portfolio_id       uuid NOT NULL REFERENCES portfolios (id),
    id                 uuid NOT NULL,
    symbol             varchar(100) NOT NULL CHECK (symbol <> ''),
    position_type      text NOT NULL CHECK (position_type IN ('LONG', 'SHORT', 'LC', 'LP', 'SC', 'SP')),
    investment_class   text NOT NULL CHECK (investment_class IN ('PUBLIC', 'OPTIONS', 'PRIVATE')),
    investment_subtype varchar(32),
    is_cash            boolean NOT NULL DEFAULT false,
    -- Signed: negative is short. Validation: non-zero, at most 18 integer
    -- digits and 6 decimals.
    quantity           numeric(24,6) NOT NULL CHECK (quantity <> 0),
    entry_price        numeric(20,4) NOT NULL CHECK (entry_price > 0),
    entry_date         date NOT NULL,
    exit_date          date CHECK (exit_date >= entry_date),
    exit_price         numeric(20,4) CHECK (exit_price > 0),
    underlying_symbol  varchar(100),
    strike_price       numeric(20,4) CHECK (strike_price > 0),
    expiration_date    date,
    option_type        text CHECK (option_type IN ('CALL', 'PUT')),
    multiplier         integer NOT NULL DEFAULT 1 CHECK (multiplier > 0),
    source_row         integer,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (portfolio_id, id)
);

CREATE TABLE capital_flows (
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    id           uuid NOT NULL,
    flow_date    date NOT NULL,
    -- Signed: a deposit is positive, a withdrawal negative.
    amount       numeric(20,4) NOT NULL CHECK (amount <> 0),
    description  varchar(2000) NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (portfolio_id, id)
);

CREATE INDEX capital_flows_portfolio_date_idx ON capital_flows (portfolio_id, flow_date);

CREATE TABLE market_prices (
    symbol     varchar(100) NOT NULL,
    price_date date NOT NULL,
    close      numeric NOT NULL CHECK (close > 0 AND close <> 'NaN'),
    source     text NOT NULL DEFAULT '',
    loaded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, price_date)
);

-- A counter bumped by every statement that changes market_prices, so that
-- price caches know cheaply when to reload.
CREATE TABLE price_generation (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation bigint NOT NULL DEFAULT 0
);
INSERT INTO price_generation DEFAULT VALUES;

CREATE FUNCTION bump_price_generation() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE price_generation SET generation = generation + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER market_prices_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON market_prices
    FOR EACH STATEMENT EXECUTE FUNCTION bump_price_generation();

-- One run of the backfill engine for one portfolio.
CREATE TABLE batch_runs (
    portfolio_id  uuid NOT NULL REFERENCES portfolios (id),
    id            uuid NOT NULL,
    trigger       text NOT NULL CHECK (trigger IN ('onboarding', 'calculate', 'schedule', 'notify', 'manual')),
    status        text NOT NULL CHECK (status IN
                      ('pending', 'running', 'completed', 'partial', 'waiting_for_prices', 'failed')),
    requested_at  timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    from_date     date,
    through_date  date,
    days_total    integer NOT NULL DEFAULT 0,
    days_written  integer NOT NULL DEFAULT 0,
    warnings      jsonb NOT NULL DEFAULT '[]',
    error         text,
    phase_timings jsonb NOT NULL DEFAULT '{}',
    worker        text,
    lease_token   uuid,
    PRIMARY KEY (portfolio_id, id)
);

-- At most one pending or running run per portfolio: a second request
-- returns the first.
CREATE UNIQUE INDEX batch_runs_one_active_idx
    ON batch_runs (portfolio_id) WHERE status IN ('pending', 'running');
CREATE INDEX batch_runs_portfolio_requested_idx ON batch_runs (portfolio_id, requested_at DESC);
CREATE INDEX batch_runs_id_idx ON batch_runs (id);

-- The reconciler's per-portfolio bookkeeping. snapshot_through is the
-- per-portfolio watermark: every trading day up to and including it has a
-- snapshot. It moves in the same transaction as the rows it covers.
CREATE TABLE backfill_state (
    portfolio_id     uuid PRIMARY KEY REFERENCES portfolios (id),
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN
                         ('pending', 'running', 'current', 'waiting_for_prices', 'failing', 'quarantined')),
    snapshot_through date,
    target_date      date,
    -- Set when a backfill was explicitly requested (onboarding, calculate),
    -- cleared when a run completes.
    requested_at     timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    lease_owner      text,
    lease_token      uuid,
    lease_expires_at timestamptz,
    behind_since     timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The reconciler's "who is behind" query: never snapshotted or watermark
-- before the target day, among portfolios that are not quarantined.
CREATE INDEX backfill_state_watermark_idx
    ON backfill_state (snapshot_through NULLS FIRST, next_attempt_at)
    WHERE status <> 'quarantined';
-- Explicit requests, found without scanning the watermark index.
CREATE INDEX backfill_state_requested_idx
    ON backfill_state (next_attempt_at)
    WHERE requested_at IS NOT NULL AND status <> 'quarantined';

-- One row per portfolio and trading day: a public interface read by users.
CREATE TABLE portfolio_snapshots (
    portfolio_id       uuid NOT NULL REFERENCES portfolios (id),
    snapshot_date      date NOT NULL,
    nav                numeric NOT NULL,
    cash               numeric NOT NULL,
    long_value         numeric NOT NULL,
    short_value        numeric NOT NULL,
    gross_exposure     numeric NOT NULL,
    net_exposure       numeric NOT NULL,
    daily_pnl          numeric NOT NULL,
    daily_realized_pnl numeric NOT NULL,
    daily_return       double precision,
    cumulative_pnl     numeric NOT NULL,
    cumulative_return  double precision,
    capital_flow       numeric NOT NULL,
    num_positions      integer NOT NULL,
    num_long           integer NOT NULL,
    num_short          integer NOT NULL,
    stale_positions    integer NOT NULL,
    unpriced_positions integer NOT NULL,
    volatility_21d     double precision,
    volatility_63d     double precision,
    beta_realized_90d  double precision,
    max_drawdown       double precision,
    -- The chain-linked return index Π(1 + r) to date; cumulative_return is
    -- return_index − 1. Kept so that a later backfill continues exactly.
    return_index       double precision NOT NULL DEFAULT 1,
    batch_run_id       uuid,
    computed_at        timestamptz NOT NULL DEFAULT now(),
    -- The primary key also lists a portfolio's snapshots by date.
    PRIMARY KEY (portfolio_id, snapshot_date)
);

-- Beta-weighted factor exposure of a portfolio on a day.
CREATE TABLE factor_exposures (
    portfolio_id      uuid NOT NULL REFERENCES portfolios (id),
    exposure_date     date NOT NULL,
    factor            text NOT NULL,
    exposure          double precision,
    exposure_dollar   double precision,
    holdings_covered  integer NOT NULL DEFAULT 0,
    holdings_excluded integer NOT NULL DEFAULT 0,
    gross_coverage    double precision,
    batch_run_id      uuid,
    computed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (portfolio_id, exposure_date, factor)
);

-- Per-symbol factor betas, shared by every portfolio holding the symbol.
CREATE TABLE symbol_factor_betas (
    symbol       varchar(100) NOT NULL,
    as_of_date   date NOT NULL,
    factor       text NOT NULL,
    beta         double precision,
    observations integer NOT NULL DEFAULT 0,
    reason       text,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, as_of_date, factor)
);
