// Package batch computes portfolio snapshots for every missing trading day:
// the trading calendar, the price source and price-file import, valuation,
// P&L and returns, fenced bulk writes and run history.
//
// An Engine brings one portfolio up to date in one pass: it loads the
// portfolio, loads each needed symbol's closes once for the whole range
// (shared by every portfolio the engine processes), computes every missing
// day in memory, and writes the days with COPY in chunks. Each chunk's
// transaction first checks the caller's lease token and moves the
// portfolio's watermark, so a worker that lost its lease writes nothing and
// a crash resumes after the last committed chunk:
//
//	engine, err := batch.NewEngine(pool, nil) // NYSE calendar, prices from market_prices
//	res, err := engine.Backfill(ctx, portfolioID, nil)
//	fmt.Println(res.Status, res.From, res.Through, res.DaysWritten, res.Warnings)
//
// Prices arrive through ImportPrices (long-format CSV: date, symbol, close)
// or any PriceSource. Day D is ready when the benchmark (SPY) has a close
// for D; a missing close is carried forward and flagged stale after
// Config.StaleAfter sessions; a symbol without any price is valued at cost.
//
// Reference data (sector, asset type, provider beta) arrives through
// ImportSymbols or any SymbolSource; every snapshot carries its sector
// exposure (view sector_exposures), concentration and provider beta. Symbol
// betas are stored in symbol_factor_betas and read back by any engine while
// the prices under them are unchanged; PositionValues and
// PositionFactorExposures give per-position values and exposures for any
// day:
//
//	batch.ImportSymbolFiles(ctx, pool, []string{"symbols.csv"}, nil)
//	expo, err := engine.PositionFactorExposures(ctx, portfolioID, &batch.PositionOpts{From: from, Through: through})
//
// Every Backfill records its batch_runs row synchronously and never leaves
// it running, also on error, panic or cancellation.
//
// The nightly advance moves many portfolios whose leases the caller holds
// one session at once, with the same compute, one load round trip and one
// write transaction (each portfolio fenced by its own lease), starting from
// each portfolio's rolling state (portfolio_rolling_state) instead of its
// snapshots:
//
//	results := engine.Advance(ctx, []batch.AdvanceClaim{{PortfolioID: id, LeaseToken: token}}, nil)
package batch
