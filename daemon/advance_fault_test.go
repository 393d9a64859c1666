package daemon

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sigmasight/backfill/batch"
	"github.com/sigmasight/backfill/portfolio"
)

// Fault injection in the batched nightly advance (advance.go): a process
// dying between a batch's load and its write, a lease stolen from one
// portfolio of a batch, a price correction rewinding some portfolios of a
// batch. Each checks the batch's guarantees and then checkInvariants.

// advanceFault is a world of portfolios current through the session before
// the last, the clock after the last close, and a reconciler whose first
// price read blocks: its batch has loaded (runs running, leases held) and
// not yet written while the test breaks something.
type advanceFault struct {
	*world
	clock   fakeClock
	cal     batch.Calendar
	last    time.Time
	groups  [][]string
	ids     []uuid.UUID
	src     *blockingSource
	batcher *Reconciler
	pre     *Reconciler
	done    chan struct{}
}

const advanceFaultPortfolios = 12

func newAdvanceFault(t *testing.T) *advanceFault {
	w := newWorld(t, 40, 6)
	f := &advanceFault{world: w, cal: batch.NewNYSECalendar(), last: w.sessions[len(w.sessions)-1], done: make(chan struct{})}
	f.clock.afterClose(w.sessions[len(w.sessions)-2])
	w.now = f.clock.now
	f.groups = [][]string{w.symbols[:3], w.symbols[3:], {w.symbols[0], w.symbols[5]}}
	for i := range advanceFaultPortfolios {
		f.ids = append(f.ids, w.onboard(fmt.Sprint("acct-", i), f.groups[i%len(f.groups)]...))
	}
	f.pre = w.reconciler(&Config{Worker: "pre"})
	if _, err := f.pre.SweepNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.clock.afterClose(f.last)
	f.src = &blockingSource{PriceSource: batch.NewDBPriceSource(w.db.Pool, portfolio.DefaultSchema),
		entered: make(chan struct{}, 1), release: make(chan struct{})}
	engine, err := batch.NewEngine(w.db.Pool, &batch.Config{Now: f.clock.now, Prices: f.src, Worker: "batcher", LeaseTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f.batcher = w.reconciler(&Config{Engine: engine, Worker: "batcher", LeaseTTL: time.Hour, HeartbeatInterval: 50 * time.Minute})
	return f
}

// start runs the batcher's sweep until its batch has loaded and blocks.
func (f *advanceFault) start() {
	f.t.Helper()
	go func() {
		defer close(f.done)
		if _, err := f.batcher.SweepNow(context.Background()); err != nil {
			f.t.Errorf("batcher sweep: %v", err)
		}
	}()
	<-f.src.entered
	// The sweep has handed the batch over and stops claiming (it records
	// itself before waiting for its backfills): nothing it does races the
	// test's changes to the leases.
	eventually(f.t, 10*time.Second, "the batcher's sweep to stop claiming", func() bool {
		f.batcher.mu.Lock()
		defer f.batcher.mu.Unlock()
		return !f.batcher.lastSweep.Started.IsZero()
	})
	if n := f.queryInt(`SELECT count(*) FROM backfill.batch_runs WHERE status = 'running' AND worker = 'batcher'`); n != len(f.ids) {
		f.t.Fatalf("%d runs running in the batch, want %d", n, len(f.ids))
	}
}

// finish lets the batcher go on and waits for its sweep.
func (f *advanceFault) finish() {
	close(f.src.release)
	<-f.done
}

func (f *advanceFault) results(r *Reconciler, result string) int {
	return int(testutil.ToFloat64(r.metrics.backfills.WithLabelValues(result)))
}

// sameAsTwins compares every portfolio's rows with those of an identical
// portfolio computed from scratch now, by a fresh engine.
func (f *advanceFault) sameAsTwins(rs ...*Reconciler) {
	f.t.Helper()
	twins := make([]uuid.UUID, len(f.groups))
	for g, syms := range f.groups {
		twins[g] = f.onboard(fmt.Sprint("twin-", g), syms...)
	}
	ref := f.reconciler(&Config{Worker: "reference"})
	if _, err := ref.SweepNow(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	rows := snapshotRows(f.t, f.db.Pool, f.last, append(twins, f.ids...)...)
	for i, id := range f.ids {
		if d := firstDiff(rows[twins[i%len(f.groups)]], rows[id]); d != "" {
			f.t.Fatalf("portfolio %d differs from its twin computed from scratch: %s", i, d)
		}
	}
	checkInvariants(f.t, f.db.Pool, f.cal, f.last, append(rs, f.pre, ref)...)
}

// 10. The process dies between a batch's load and its write (SIGKILL: it
// never writes, nothing of it is closed): its runs stay running and its
// leases held until they expire; then a peer's sweep closes the runs as
// abandoned and advances every portfolio, exactly once. When the frozen
// process wakes up, it writes nothing.
func TestFaultAdvanceCrashMidBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newAdvanceFault(t)
	f.start()
	// The leases expire: the frozen process no longer heartbeats.
	if _, err := f.db.Pool.Exec(ctx, `UPDATE backfill.backfill_state SET lease_expires_at = now() - interval '1 second'
		WHERE lease_owner = 'batcher'`); err != nil {
		t.Fatal(err)
	}
	peer := f.reconciler(&Config{Worker: "peer"})
	res, err := peer.SweepNow(ctx)
	if err != nil || res.Reclaimed != len(f.ids) {
		t.Fatalf("peer sweep %+v, %v: want %d reclaimed", res, err, len(f.ids))
	}
	for i, id := range f.ids {
		if !f.current(id) {
			t.Fatalf("portfolio %d not current after the peer's sweep", i)
		}
	}
	if n := f.queryInt(`SELECT count(*) FROM backfill.batch_runs WHERE worker = 'batcher' AND status = 'failed'
		AND error LIKE 'abandoned%'`); n != len(f.ids) {
		t.Errorf("%d of the dead batch's runs closed as abandoned, want %d: %s", n, len(f.ids), describeRuns(t, f.db.Pool, `worker = 'batcher'`))
	}
	if got := f.results(peer, "completed"); got != len(f.ids) {
		t.Errorf("peer completed %d, want %d (%s)", got, len(f.ids), resultCounts(peer))
	}
	f.finish()
	if got := f.results(f.batcher, "lease_lost"); got != len(f.ids) {
		t.Errorf("the woken batch: %s, want lease_lost=%d", resultCounts(f.batcher), len(f.ids))
	}
	if n := f.queryInt(`SELECT count(*) FROM backfill.portfolio_snapshots s JOIN backfill.batch_runs r
		ON r.portfolio_id = s.portfolio_id AND r.id = s.batch_run_id WHERE r.worker = 'batcher'`); n != 0 {
		t.Errorf("the woken batch wrote %d rows", n)
	}
	f.sameAsTwins(f.batcher, peer)
}

// 11. Another worker takes one portfolio's lease while the batch computes:
// the batch's write leaves that portfolio out (its run failed, lease_lost,
// its watermark where it was) and writes every other one.
func TestFaultAdvanceLostLeaseMidBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newAdvanceFault(t)
	f.start()
	stolen := f.ids[4]
	if _, err := f.db.Pool.Exec(ctx, `UPDATE backfill.backfill_state
		SET lease_owner = 'thief', lease_token = gen_random_uuid(), lease_expires_at = now() + interval '1 hour'
		WHERE portfolio_id = $1`, stolen); err != nil {
		t.Fatal(err)
	}
	f.finish()
	if got, want := resultCounts(f.batcher), fmt.Sprintf("completed=%d lease_lost=1", len(f.ids)-1); got != want {
		t.Errorf("batcher results %s, want %s", got, want)
	}
	for i, id := range f.ids {
		if id != stolen && !f.current(id) {
			t.Errorf("portfolio %d not written by the batch", i)
		}
	}
	var watermark time.Time
	var owner string
	if err := f.db.Pool.QueryRow(ctx, `SELECT snapshot_through, lease_owner FROM backfill.backfill_state WHERE portfolio_id = $1`,
		stolen).Scan(&watermark, &owner); err != nil {
		t.Fatal(err)
	}
	if !watermark.Equal(f.sessions[len(f.sessions)-2]) || owner != "thief" {
		t.Errorf("stolen portfolio: watermark %s, lease owner %s; want %s, thief", day(watermark), owner, day(f.sessions[len(f.sessions)-2]))
	}
	if n := f.queryInt(`SELECT count(*) FROM backfill.portfolio_snapshots WHERE portfolio_id = $1 AND snapshot_date = $2`, stolen, f.last); n != 0 {
		t.Errorf("the batch wrote the stolen portfolio's day")
	}
	var runErr string
	if err := f.db.Pool.QueryRow(ctx, `SELECT status || ': ' || coalesce(error, '') FROM backfill.batch_runs
		WHERE portfolio_id = $1 AND worker = 'batcher'`, stolen).Scan(&runErr); err != nil || !strings.HasPrefix(runErr, "failed: ") ||
		!strings.Contains(runErr, batch.ErrLeaseLost.Error()) {
		t.Errorf("stolen portfolio's run: %q, %v; want failed, lease lost", runErr, err)
	}
	// The thief gives the lease back without writing; a sweep advances it.
	if _, err := f.db.Pool.Exec(ctx, `UPDATE backfill.backfill_state
		SET lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, status = 'pending' WHERE portfolio_id = $1`, stolen); err != nil {
		t.Fatal(err)
	}
	peer := f.reconciler(&Config{Worker: "peer"})
	if _, err := peer.SweepNow(ctx); err != nil || !f.current(stolen) {
		t.Fatalf("peer sweep: %v, current %v", err, f.current(stolen))
	}
	f.sameAsTwins(f.batcher, peer)
}

// 12. A price correction of an earlier day arrives and rewinds some of the
// batch's portfolios while the batch computes: their day is written but
// their watermark stays where the rewind put it and they stay requested;
// the others are current. The next sweep recomputes the rewound ones, and
// every row equals a computation from scratch, each day once.
func TestFaultAdvanceCorrectionMidBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newAdvanceFault(t)
	f.start()
	corrected := f.sessions[len(f.sessions)-4]
	sym := f.symbols[0] // held by groups 0 and 2
	csv := fmt.Sprintf("date,symbol,close\n%s,%s,77.77\n", day(corrected), sym)
	if _, err := batch.ImportPrices(ctx, f.db.Pool, strings.NewReader(csv), "correction.csv", nil); err != nil {
		t.Fatal(err)
	}
	applier, err := batch.NewEngine(f.db.Pool, &batch.Config{Now: f.clock.now, Worker: "applier"})
	if err != nil {
		t.Fatal(err)
	}
	applied, err := applier.ApplyPriceChanges(ctx, nil)
	holders := 0
	for i := range f.ids {
		if g := i % len(f.groups); g != 1 {
			holders++
		}
	}
	if err != nil || applied.Rewound != holders {
		t.Fatalf("apply = %+v, %v; want %d rewound", applied, err, holders)
	}
	f.finish()
	if got := f.results(f.batcher, "completed"); got != len(f.ids) {
		t.Errorf("batcher results %s, want completed=%d", resultCounts(f.batcher), len(f.ids))
	}
	for i, id := range f.ids {
		var status string
		var watermark time.Time
		var requested bool
		if err := f.db.Pool.QueryRow(ctx, `SELECT status, snapshot_through, requested_at IS NOT NULL FROM backfill.backfill_state
			WHERE portfolio_id = $1`, id).Scan(&status, &watermark, &requested); err != nil {
			t.Fatal(err)
		}
		written := f.queryInt(`SELECT count(*) FROM backfill.portfolio_snapshots WHERE portfolio_id = $1 AND snapshot_date = $2`, id, f.last)
		if i%len(f.groups) == 1 {
			if !f.current(id) {
				t.Errorf("portfolio %d (no corrected symbol) not current: %s through %s", i, status, day(watermark))
			}
			continue
		}
		if written != 1 || status != "pending" || !requested || !watermark.Before(corrected) {
			t.Errorf("rewound portfolio %d: day written %d, %s through %s, requested %v; want written, pending before %s, requested",
				i, written, status, day(watermark), requested, day(corrected))
		}
	}
	peer := f.reconciler(&Config{Worker: "peer"})
	if _, err := peer.SweepNow(ctx); err != nil {
		t.Fatal(err)
	}
	for i, id := range f.ids {
		if !f.current(id) {
			t.Errorf("portfolio %d not current after the next sweep", i)
		}
	}
	f.sameAsTwins(f.batcher, peer)
}
