package daemon

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
	"github.com/sigmasight/backfill/portfolio/pgserver"
)

// PostgreSQL stopped for 10 s under a running reconciler: errors are
// logged, /readyz fails, and everything recovers without a restart,
// including the listener.
func TestDatabaseOutageRecovery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	own := newOwnServer(t)
	srv, pool := own.srv, own.pool
	if _, err := pool.Exec(ctx, `INSERT INTO backfill.market_prices (symbol, price_date, close)
		SELECT 'SPY', d, 100 + extract(day FROM d) FROM generate_series('2024-12-02'::date, '2024-12-31', '1 day') d
		WHERE extract(isodow FROM d) < 6 AND d <> '2024-12-25'`); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC) }
	client, err := portfolio.NewClient(pool, &portfolio.Config{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := batch.NewEngine(pool, &batch.Config{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(pool, &Config{Engine: engine, Now: now, Schedule: "@every 1s"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(ctx)
	h := httptest.NewServer(r.Handler())
	defer h.Close()
	readyz := func() int {
		resp, err := http.Get(h.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	onboard := func(account string) func() bool {
		res, err := client.Onboard(ctx, &portfolio.OnboardRequest{OwnerID: "o", PortfolioName: "p", AccountName: account,
			AccountType: "ira", StartingEquity: "1000", CSV: stringsReader("Symbol,Quantity,Entry Price Per Share,Entry Date\nSPY,1,100,2024-12-02\n")})
		if err != nil {
			t.Fatal(err)
		}
		return func() bool {
			var current bool
			pool.QueryRow(ctx, `SELECT status = 'current' FROM backfill.backfill_state WHERE portfolio_id = $1`, res.PortfolioID).Scan(&current)
			return current
		}
	}
	eventually(t, 10*time.Second, "listener up", func() bool { return testutil.ToFloat64(r.metrics.listenerConnected) == 1 })
	eventually(t, 10*time.Second, "first portfolio current", onboard("before"))
	if code := readyz(); code != http.StatusOK {
		t.Fatalf("/readyz = %d before the outage", code)
	}

	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "listener down", func() bool { return testutil.ToFloat64(r.metrics.listenerConnected) == 0 })
	if code := readyz(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d during the outage, want 503", code)
	}
	errorsBefore := testutil.ToFloat64(r.metrics.sweeps.WithLabelValues("error"))
	// The outage itself: the database stays down this long.
	time.Sleep(10 * time.Second)
	if got := testutil.ToFloat64(r.metrics.sweeps.WithLabelValues("error")); got <= errorsBefore {
		t.Errorf("no failed sweeps counted during the outage (%v → %v)", errorsBefore, got)
	}

	own.start(t, srv.Port())
	eventually(t, 30*time.Second, "listener reconnected", func() bool { return testutil.ToFloat64(r.metrics.listenerConnected) == 1 })
	eventually(t, 10*time.Second, "/readyz ok", func() bool { return readyz() == http.StatusOK })
	eventually(t, 10*time.Second, "portfolio onboarded after the outage current", onboard("after"))
}

// ownServer is a PostgreSQL of a test's own, for faults that stop or
// restart the server, with a kept data directory and a migrated schema.
type ownServer struct {
	dir  string
	srv  *pgserver.Server
	pool *pgxpool.Pool
}

func newOwnServer(t *testing.T) *ownServer {
	t.Helper()
	dir, err := os.MkdirTemp("", "backfill-own-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // the server may run as another OS user
		t.Fatal(err)
	}
	o := &ownServer{dir: dir}
	t.Cleanup(func() {
		if o.pool != nil {
			o.pool.Close()
		}
		if o.srv != nil {
			o.srv.Stop(context.Background())
		}
		os.RemoveAll(dir)
	})
	o.start(t, 0)
	if o.pool, err = pgxpool.New(context.Background(), o.srv.ConnString("")); err != nil {
		t.Fatal(err)
	}
	if err := portfolio.Migrate(context.Background(), o.pool, nil); err != nil {
		t.Fatal(err)
	}
	return o
}

// start starts the server on its data directory (again), on port (0: any).
func (o *ownServer) start(t *testing.T, port int) {
	t.Helper()
	srv, err := pgserver.Start(context.Background(), &pgserver.Options{DataDir: o.dir + "/data", Port: port})
	if err != nil {
		t.Fatal(err)
	}
	o.srv = srv
}
