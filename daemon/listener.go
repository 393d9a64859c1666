package daemon

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sigmasight/backfill/portfolio"
)

// listen holds a dedicated connection LISTENing on the request channel and
// triggers a sweep for notifications and after every (re)connect, so
// nothing notified while it was down is missed for longer than one sweep.
// It reconnects with backoff until ctx ends; the schedule stays the
// fallback meanwhile.
func (r *Reconciler) listen(ctx context.Context) {
	const minWait, maxWait = 500 * time.Millisecond, 30 * time.Second
	wait := minWait
	for ctx.Err() == nil {
		connected, err := r.listenOnce(ctx)
		r.metrics.listenerConnected.Set(0)
		if ctx.Err() != nil {
			return
		}
		if connected {
			wait = minWait
		}
		r.cfg.Logger.Warn("listener disconnected; reconnecting", "error", err, "retry_in", wait)
		if !sleep(ctx, wait) {
			return
		}
		wait = min(wait*2, maxWait)
	}
}

// listenOnce connects, LISTENs and waits for notifications until the
// connection fails or ctx ends.
func (r *Reconciler) listenOnce(ctx context.Context) (connected bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, r.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, ch := range []string{r.cfg.NotifyChannel, portfolio.PriceChangeChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return false, err
		}
	}
	r.metrics.listenerConnected.Set(1)
	r.cfg.Logger.Info("listening for backfill requests and price changes", "channel", r.cfg.NotifyChannel,
		"price_channel", portfolio.PriceChangeChannel)
	// A catch-up sweep, like a scheduled one: it does not hold back the
	// first notification's sweep (NotifyInterval).
	r.trigger(false)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		if n.Channel == portfolio.PriceChangeChannel {
			r.cfg.Logger.Debug("prices changed", "schema", n.Payload)
		} else {
			r.cfg.Logger.Debug("backfill requested", "portfolio_id", n.Payload)
		}
		r.trigger(true)
	}
}
