package portfolio

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultNotifyChannel is the PostgreSQL NOTIFY channel on which onboarding
// and backfill requests wake the reconciler.
const DefaultNotifyChannel = "backfill_requested"

// PriceChangeChannel is the NOTIFY channel on which every statement that
// changes market_prices wakes the reconcilers (payload: the schema), so
// that they rewind the portfolios the change affects.
const PriceChangeChannel = "backfill_price_changed"

// DBTX is what the client needs of a database handle; *pgxpool.Pool,
// *pgx.Conn and pgx.Tx all satisfy it.
type DBTX interface {
	Querier
	Beginner
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, rows pgx.CopyFromSource) (int64, error)
}

// Config configures a Client. The zero value, or nil, means defaults.
type Config struct {
	// Schema holds the library's tables. Default DefaultSchema.
	Schema Schema
	// NotifyChannel is the channel notified, with the portfolio id as
	// payload, when a backfill is requested. Default DefaultNotifyChannel.
	NotifyChannel string
	// Now is the clock used to validate dates (no entry date in the
	// future). Default time.Now.
	Now func() time.Time
	// MaxRows is the limit on data rows in a positions file. Default
	// DefaultMaxRows (10,000).
	MaxRows int
	// MaxBytes is the limit on the size of a positions file. Default
	// DefaultMaxBytes (10 MiB).
	MaxBytes int64
	// Logger receives one line per onboarding and request. Default discards.
	Logger *slog.Logger
}

// withDefaults returns a copy of c with defaults filled in, validated.
func (c *Config) withDefaults() (Config, error) {
	var out Config
	if c != nil {
		out = *c
	}
	schema, err := ParseSchema(out.Schema.Name())
	if err != nil {
		return out, fmt.Errorf("config: %w", err)
	}
	out.Schema = schema
	out.NotifyChannel = cmp.Or(out.NotifyChannel, DefaultNotifyChannel)
	if len(out.NotifyChannel) > 63 {
		return out, fmt.Errorf("config: notify channel %q longer than 63 bytes", out.NotifyChannel)
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	out.MaxRows = cmp.Or(out.MaxRows, DefaultMaxRows)
	if out.MaxRows < 0 {
		return out, fmt.Errorf("config: MaxRows %d must be positive", out.MaxRows)
	}
	out.MaxBytes = cmp.Or(out.MaxBytes, DefaultMaxBytes)
	if out.MaxBytes < 0 {
		return out, fmt.Errorf("config: MaxBytes %d must be positive", out.MaxBytes)
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	return out, nil
}

// Client onboards portfolios and records backfill requests. It is safe for
// concurrent use.
type Client struct {
	db  DBTX
	cfg Config

	// afterPositions, when set by a test, runs after the positions are
	// written and before the rest of the onboarding transaction.
	afterPositions func(context.Context) error
}

// NewClient returns a client writing through db (usually a *pgxpool.Pool).
// A nil config means defaults.
func NewClient(db DBTX, cfg *Config) (*Client, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Client{db: db, cfg: c}, nil
}

// Config returns the client's configuration with defaults filled in.
func (c *Client) Config() Config { return c.cfg }

// Sentinel errors callers branch on.
var (
	// ErrNotFound: no live portfolio with that id.
	ErrNotFound = errors.New("portfolio not found")
	// ErrDuplicateAccount: the owner already has a live portfolio with
	// that account name (code ERR_PORT_001).
	ErrDuplicateAccount = errors.New("duplicate account name")
)

// inTx runs fn in a transaction on db: a new one on a pool, a savepoint
// inside a caller's transaction.
func inTx(ctx context.Context, db Beginner, fn func(pgx.Tx) error) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation
// on the named constraint or index.
func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint
}
