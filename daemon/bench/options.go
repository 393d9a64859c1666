package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sigmasight/backfill/daemon"
	"github.com/sigmasight/backfill/portfolio"
)

// Defaults of `backfilld bench`, as in DefaultOptions.
const (
	DefaultPortfolios = 1000
	DefaultPositions  = 30
	DefaultSessions   = 252
	DefaultSymbols    = 500
	DefaultTimeout    = time.Hour
	// DefaultTemplates is the number of portfolios ModeDaily backfills
	// with the engine before cloning them into the rest of the world.
	DefaultTemplates = 1000
	// DefaultChecks is the number of clones ModeDaily recomputes with the
	// engine to check that a clone holds what the engine computes for it.
	DefaultChecks = 3
)

// The world's fixed shape.
const (
	// minHistory is the fewest sessions of prices before the portfolios'
	// first day, so that the analytics windows are full from that day on.
	minHistory = 200
	// pollInterval is how often backfill_state is polled for current
	// portfolios; the figures come from the database's timestamps, not
	// from the polls.
	pollInterval = 250 * time.Millisecond
	// progressInterval is how often a progress line goes to stderr.
	progressInterval = 2 * time.Second
	// priceChunkRows bounds the rows of one ImportPrices call.
	priceChunkRows = 200_000
	// cleanupTimeout bounds stopping the reconcilers and dropping
	// the schema, also after an interrupt.
	cleanupTimeout = time.Minute
)

// LastSession is the world's last session; the clock stands an hour after
// its close.
const LastSession = "2024-12-31"

// Schedule is the reconcilers' schedule besides notifications.
const Schedule = "@every 1s"

// The modes of `backfilld bench`.
const (
	// ModeBacklog onboards every portfolio first, then starts the
	// reconcilers and times them until the backlog is current: their
	// capacity, as after an outage or a bulk import.
	ModeBacklog = "backlog"
	// ModeLive starts the reconcilers first and onboards while they run,
	// as in steady production: the onboarding rate bounds the times.
	ModeLive = "live"
	// ModeDaily times the nightly advance: a world of portfolios current
	// through the day before the last session, then the last session's
	// closes imported, until every portfolio is current through it.
	ModeDaily = "daily"
	// ModePlans fills backfill_state with Portfolios state rows (no
	// snapshots) and explains the reconcilers' claim at 10,000, 100,000
	// and Portfolios rows, failing when its cost grows with them.
	ModePlans = "plans"
)

// Options configure one bench run; DefaultOptions returns the defaults of
// `backfilld bench`. Every count is at least 1.
type Options struct {
	// Portfolios is the number of portfolios in the world.
	Portfolios int
	// Positions is the number of positions of each portfolio, at most
	// Symbols and portfolio.DefaultMaxRows.
	Positions int
	// Sessions is the number of sessions each portfolio is backfilled
	// over, after the history the analytics windows need.
	Sessions int
	// Replicas is the number of reconcilers running in this process.
	Replicas int
	// Concurrency is each reconciler's number of backfills at a time.
	Concurrency int
	// Symbols is the size of the universe besides SPY and the proxies.
	Symbols int
	// Onboarders is the number of clients onboarding concurrently.
	Onboarders int
	// Seed seeds the world: the same seed gives the same prices and
	// positions, and names the schema bench_SEED_PID.
	Seed uint64
	// Mode is ModeBacklog, ModeLive, ModeDaily or ModePlans.
	Mode string
	// Templates is, in ModeDaily, the number of portfolios backfilled by
	// the reconcilers and cloned into the rest; at most Portfolios are used.
	Templates int
	// Checks is, in ModeDaily, the number of clones recomputed by the
	// engine and compared with what they hold before the timed advance.
	Checks int
	// Cold, in ModeDaily, starts fresh reconcilers after the last
	// session's import; otherwise the same reconcilers first advance the
	// world by the session before (untimed), warming their caches.
	Cold bool
	// Analytics computes the risk analytics; false measures without.
	Analytics bool
	// Keep keeps the bench schema instead of dropping it.
	Keep bool
	// Timeout bounds onboarding and backfilling, from the first
	// onboarding.
	Timeout time.Duration
	// CPUProfile, when not empty, is the file a CPU profile of the
	// reconcilers' work is written to.
	CPUProfile string

	// Database describes the database in the report, e.g. "DATABASE_URL".
	Database string
	// Version is the reconcilers' version label; may be empty.
	Version string
	// Logger is the reconcilers' logger; nil discards. At info, one line
	// per backfill would drown the progress lines.
	Logger *slog.Logger
	// Progress receives the progress lines ("bench: …"); nil discards.
	Progress io.Writer

	// afterClone, when set, runs after the clones are made (tests).
	afterClone func(context.Context, *pgxpool.Pool, portfolio.Schema) error
}

// DefaultOptions returns the defaults of `backfilld bench`.
func DefaultOptions() *Options {
	return &Options{
		Portfolios: DefaultPortfolios, Positions: DefaultPositions, Sessions: DefaultSessions,
		Replicas: 1, Concurrency: daemon.DefaultConcurrency, Symbols: DefaultSymbols, Onboarders: 1,
		Seed: 1, Mode: ModeBacklog, Templates: DefaultTemplates, Checks: DefaultChecks, Analytics: true, Timeout: DefaultTimeout, Database: "DATABASE_URL",
	}
}

// Validate reports the first option out of range, naming it as its flag.
func (f *Options) Validate() error {
	for _, c := range []struct {
		name     string
		v, least int
	}{
		{"portfolios", f.Portfolios, 1}, {"positions", f.Positions, 1}, {"sessions", f.Sessions, 1},
		{"replicas", f.Replicas, 1}, {"concurrency", f.Concurrency, 1}, {"symbols", f.Symbols, 1},
		{"onboarders", f.Onboarders, 1}, {"templates", f.Templates, 1}, {"checks", f.Checks, 0},
	} {
		if c.v < c.least {
			return fmt.Errorf("--%s %d: want at least %d", c.name, c.v, c.least)
		}
	}
	switch {
	case f.Mode != ModeBacklog && f.Mode != ModeLive && f.Mode != ModeDaily && f.Mode != ModePlans:
		return fmt.Errorf("--mode %q: want %s, %s, %s or %s", f.Mode, ModeBacklog, ModeLive, ModeDaily, ModePlans)
	case f.Cold && f.Mode != ModeDaily:
		return fmt.Errorf("--cold: only with --mode %s", ModeDaily)
	case f.Positions > f.Symbols:
		return fmt.Errorf("--positions %d: want at most --symbols (%d); a portfolio holds distinct symbols", f.Positions, f.Symbols)
	case f.Positions > portfolio.DefaultMaxRows:
		return fmt.Errorf("--positions %d: want at most %d, the onboarding limit", f.Positions, portfolio.DefaultMaxRows)
	case f.Sessions > 10_000:
		return fmt.Errorf("--sessions %d: want at most 10000 (about 40 years)", f.Sessions)
	case f.Timeout <= 0:
		return fmt.Errorf("--timeout %s: want a positive duration", f.Timeout)
	}
	return nil
}
