package daemon

import (
	"cmp"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
)

// Defaults of Config.
const (
	// DefaultSchedule sweeps every minute.
	DefaultSchedule        = "@every 1m"
	DefaultConcurrency     = 4
	DefaultLeaseTTL        = batch.DefaultLeaseTTL
	DefaultMaxAttempts     = 8
	DefaultBackoffBase     = 30 * time.Second
	DefaultBackoffMax      = 1 * time.Hour
	DefaultBackfillTimeout = 30 * time.Minute
	DefaultClaimBatch      = 100
	DefaultStatusLimit     = 50
	DefaultShutdownGrace   = 30 * time.Second
	DefaultNotifyInterval  = 50 * time.Millisecond
)

// Config configures a Reconciler. nil or zero fields mean defaults.
type Config struct {
	// Schema holds the library's tables. Default portfolio.DefaultSchema.
	Schema portfolio.Schema
	// Schedule says when to sweep: robfig/cron syntax with five fields,
	// descriptors (@hourly, @every 30s) and a CRON_TZ= prefix. Sweeps also
	// run on every notification and on start. Default "@every 1m".
	Schedule string
	// Concurrency is how many backfills run at once. Default 4.
	Concurrency int
	// LeaseTTL is how long a claim lasts without a heartbeat. Default 2 min.
	LeaseTTL time.Duration
	// HeartbeatInterval is how often a running backfill extends its lease.
	// Default LeaseTTL / 3.
	HeartbeatInterval time.Duration
	// MaxAttempts is how many failed backfills in a row quarantine a
	// portfolio until it is retried by hand. Default 8.
	MaxAttempts int
	// BackoffBase and BackoffMax bound the delay before retrying a failed
	// portfolio: base × 2^(attempts−1), at most max, with ±20% jitter.
	// Defaults 30 s and 1 h.
	BackoffBase, BackoffMax time.Duration
	// BackfillTimeout bounds one backfill. Default 30 min.
	BackfillTimeout time.Duration
	// AdvanceBatch is how many portfolios one batched nightly advance
	// claims and writes together (see Reconciler and the README's
	// "Nightly advance"). Default DefaultAdvanceBatch (256); negative turns
	// the batched path off.
	AdvanceBatch int
	// ShutdownGrace is how long Stop lets in-flight backfills finish before
	// cancelling them, when its context has no deadline. Default 30 s.
	ShutdownGrace time.Duration
	// NotifyChannel is the LISTEN channel. Default
	// portfolio.DefaultNotifyChannel ("backfill_requested"). Empty
	// listener: set DisableListener.
	NotifyChannel string
	// NotifyInterval bounds how often notifications start sweeps. The
	// first notification after a quiet spell sweeps at once; those
	// arriving within NotifyInterval of that sweep's start are served
	// together by one sweep when it has passed. This spares the database
	// a sweep per onboarding on every replica during bulk onboarding.
	// Default 50 ms.
	NotifyInterval time.Duration
	// DisableListener turns LISTEN off; the schedule alone triggers sweeps.
	DisableListener bool
	// Worker names this replica in leases and runs. Default host:pid.
	Worker string
	// Engine computes the backfills. Default batch.NewEngine on the pool
	// with the same schema, worker, clock and logger.
	Engine *batch.Engine
	// Calendar gives the target trading day. Default the engine's.
	Calendar batch.Calendar
	// Registerer receives the metrics. Default a new registry, which
	// Handler serves.
	Registerer prometheus.Registerer
	// Gatherer is what Handler's /metrics serves. Default the registry
	// created for Registerer when that is nil, else
	// prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Logger receives the reconciler's logs. Default discards.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Version is reported by backfill_build_info. Default "dev".
	Version string
}

// Validate checks the configuration as New does, without a pool: the
// error says which setting to change. A command line can call it before it
// opens a database.
func (c *Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// withDefaults returns a copy of c (nil: all defaults) with the defaults
// filled in, validated.
func (c *Config) withDefaults() (Config, error) {
	var o Config
	if c != nil {
		o = *c
	}
	schema, err := portfolio.ParseSchema(o.Schema.Name())
	if err != nil {
		return o, fmt.Errorf("config: %w", err)
	}
	o.Schema = schema
	o.Schedule = cmp.Or(o.Schedule, DefaultSchedule)
	if err := CheckSchedule(o.Schedule); err != nil {
		return o, fmt.Errorf("config: schedule %q: %w (use five cron fields, @every 1m, or a CRON_TZ= prefix)", o.Schedule, err)
	}
	o.Concurrency = cmp.Or(o.Concurrency, DefaultConcurrency)
	o.LeaseTTL = cmp.Or(o.LeaseTTL, DefaultLeaseTTL)
	o.HeartbeatInterval = cmp.Or(o.HeartbeatInterval, o.LeaseTTL/3)
	o.MaxAttempts = cmp.Or(o.MaxAttempts, DefaultMaxAttempts)
	o.BackoffBase = cmp.Or(o.BackoffBase, DefaultBackoffBase)
	o.BackoffMax = cmp.Or(o.BackoffMax, DefaultBackoffMax)
	o.BackfillTimeout = cmp.Or(o.BackfillTimeout, DefaultBackfillTimeout)
	o.ShutdownGrace = cmp.Or(o.ShutdownGrace, DefaultShutdownGrace)
	o.NotifyInterval = cmp.Or(o.NotifyInterval, DefaultNotifyInterval)
	o.NotifyChannel = cmp.Or(o.NotifyChannel, portfolio.DefaultNotifyChannel)
	if o.Worker == "" {
		o.Worker = batch.DefaultWorker()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Version = cmp.Or(o.Version, "dev")
	switch {
	case o.Concurrency < 1:
		return o, fmt.Errorf("config: Concurrency %d must be at least 1", o.Concurrency)
	case o.LeaseTTL < time.Second:
		return o, fmt.Errorf("config: LeaseTTL %s must be at least 1s", o.LeaseTTL)
	case o.HeartbeatInterval <= 0 || o.HeartbeatInterval >= o.LeaseTTL:
		return o, fmt.Errorf("config: HeartbeatInterval %s must be positive and shorter than LeaseTTL %s", o.HeartbeatInterval, o.LeaseTTL)
	case o.MaxAttempts < 1:
		return o, fmt.Errorf("config: MaxAttempts %d must be at least 1", o.MaxAttempts)
	case o.BackoffBase <= 0 || o.BackoffMax < o.BackoffBase:
		return o, fmt.Errorf("config: backoff base %s must be positive and at most max %s", o.BackoffBase, o.BackoffMax)
	case o.BackfillTimeout <= 0:
		return o, fmt.Errorf("config: BackfillTimeout %s must be positive", o.BackfillTimeout)
	case o.NotifyInterval < 0:
		return o, fmt.Errorf("config: NotifyInterval %s must be positive", o.NotifyInterval)
	}
	return o, nil
}

// cronParser accepts five-field specs, descriptors and CRON_TZ=.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// CheckSchedule reports whether spec is a schedule Config.Schedule
// accepts, with the parser's own words when it is not.
func CheckSchedule(spec string) error {
	_, err := cronParser.Parse(spec)
	return err
}
