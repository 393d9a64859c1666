package daemon

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sigmasight/backfill/portfolio"
)

// explainedBy is what Explain's reason says of a portfolio in each state
// (set up by TestEveryStateEverywhere). A new state needs its wording
// here, and thereby a look at the reason it gets.
var explainedBy = map[portfolio.State]string{
	portfolio.StatePending:          "due: a running reconciler claims it",
	portfolio.StateRunning:          "being backfilled now by",
	portfolio.StateCurrent:          "current through the target",
	portfolio.StateWaitingForPrices: "the last backfill waited for SPY's close",
	portfolio.StateFailing:          "failing: 2 failed attempts in a row",
	portfolio.StateQuarantined:      "quarantined after 8 failed attempts",
}

// Every backfill state and outcome (and run status and trigger) is known
// wherever they are listed: the database's CHECK constraints (read from the live
// schema), the metric label sets, /status's counts and its JSON, Explain's
// reasons, the README. A value added to portfolio.States or Outcomes and
// missing in one of them fails here.
func TestEveryStateEverywhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, 10, 1)

	// The CHECK constraints of the live schema.
	checked := func(table, column string) []string {
		var def string
		if err := w.db.Pool.QueryRow(ctx, `
			SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
			JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
			WHERE n.nspname = 'backfill' AND t.relname = $1 AND c.contype = 'c'
			  AND pg_get_constraintdef(c.oid) LIKE '%(' || $2 || ' %'`, table, column).Scan(&def); err != nil {
			t.Fatalf("CHECK constraint of %s.%s: %v", table, column, err)
		}
		var values []string
		for _, m := range regexp.MustCompile(`'([^']*)'`).FindAllStringSubmatch(def, -1) {
			values = append(values, m[1])
		}
		slices.Sort(values)
		return values
	}
	sorted := func(v []string) []string { v = slices.Clone(v); slices.Sort(v); return v }
	if got, want := checked("backfill_state", "status"), sorted(labels(portfolio.States())); !slices.Equal(got, want) {
		t.Errorf("backfill_state.status CHECK allows %v, portfolio.States() are %v", got, want)
	}
	if got, want := checked("batch_runs", "status"), sorted(labels(portfolio.RunStatuses())); !slices.Equal(got, want) {
		t.Errorf("batch_runs.status CHECK allows %v, portfolio.RunStatuses() are %v", got, want)
	}
	if got, want := checked("batch_runs", "trigger"), sorted(labels(portfolio.Triggers())); !slices.Equal(got, want) {
		t.Errorf("batch_runs.trigger CHECK allows %v, portfolio.Triggers() are %v", got, want)
	}

	// One portfolio in each state, as the reconciler leaves it.
	target := w.sessions[len(w.sessions)-1]
	ids := map[portfolio.State]uuid.UUID{}
	for _, s := range portfolio.States() {
		id := w.onboard("account "+string(s), "SPY")
		ids[s] = id
		q := `UPDATE backfill.backfill_state SET status = $2, requested_at = NULL, next_attempt_at = now() - interval '1 minute'
			WHERE portfolio_id = $1`
		args := []any{id, s}
		switch s {
		case portfolio.StateRunning:
			q = `UPDATE backfill.backfill_state SET status = $2, lease_owner = 'w1', lease_token = gen_random_uuid(),
				lease_expires_at = now() + interval '1 hour' WHERE portfolio_id = $1`
		case portfolio.StateCurrent:
			q = `UPDATE backfill.backfill_state SET status = $2, requested_at = NULL, snapshot_through = $3 WHERE portfolio_id = $1`
			args = append(args, target)
		case portfolio.StateWaitingForPrices:
			q = `UPDATE backfill.backfill_state SET status = $2, requested_at = NULL, next_attempt_at = now() + interval '30 seconds'
				WHERE portfolio_id = $1`
		case portfolio.StateFailing:
			q = `UPDATE backfill.backfill_state SET status = $2, attempts = 2, last_error = 'boom', next_attempt_at = now() + interval '1 hour'
				WHERE portfolio_id = $1`
		case portfolio.StateQuarantined:
			q = `UPDATE backfill.backfill_state SET status = $2, attempts = 8, last_error = 'boom' WHERE portfolio_id = $1`
		}
		if _, err := w.db.Pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("put a portfolio in state %s: %v", s, err)
		}
	}

	reg := prometheus.NewRegistry()
	r := w.reconciler(&Config{Registerer: reg})

	// The metric label sets, and the gauge of each state after a refresh.
	if err := r.refreshGauges(ctx, target); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if series[f.GetName()] == nil {
					series[f.GetName()] = map[string]float64{}
				}
				series[f.GetName()][l.GetValue()] = m.GetGauge().GetValue()
			}
		}
	}
	for _, s := range portfolio.States() {
		if v, ok := series["backfill_portfolios"][string(s)]; !ok || v != 1 {
			t.Errorf("backfill_portfolios{state=%q} = %v (present %v), want 1", s, v, ok)
		}
	}
	if len(series["backfill_portfolios"]) != len(portfolio.States()) {
		t.Errorf("backfill_portfolios has states %v, want %v", series["backfill_portfolios"], portfolio.States())
	}
	for _, o := range Outcomes() {
		if _, ok := series["backfill_backfills_total"][string(o)]; !ok {
			t.Errorf("backfill_backfills_total has no result=%q", o)
		}
	}
	if len(series["backfill_backfills_total"]) != len(Outcomes()) {
		t.Errorf("backfill_backfills_total has results %v, want %v", series["backfill_backfills_total"], Outcomes())
	}

	// /status counts every state, also in its JSON, and explains each.
	st, err := r.Status(ctx, time.Time{}, 50)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		ByState map[string]int `json:"by_state"`
	}
	if err := json.Unmarshal(doc, &decoded); err != nil {
		t.Fatal(err)
	}
	for _, s := range portfolio.States() {
		if st.ByState[s] != 1 || decoded.ByState[string(s)] != 1 {
			t.Errorf("/status by_state[%s] = %d (JSON %d), want 1", s, st.ByState[s], decoded.ByState[string(s)])
		}
	}
	if len(st.ByState) != len(portfolio.States()) {
		t.Errorf("/status by_state %v has other keys than %v", st.ByState, portfolio.States())
	}
	reasons := map[uuid.UUID]string{}
	for _, p := range st.Attention {
		reasons[p.PortfolioID] = p.Reason
	}
	for _, s := range portfolio.States() {
		words, ok := explainedBy[s]
		if !ok {
			t.Errorf("state %s: no wording in explainedBy; say what Explain's reason tells of it", s)
			continue
		}
		ex, err := r.Explain(ctx, ids[s])
		if err != nil {
			t.Fatal(err)
		}
		if ex.State != s || !strings.Contains(ex.Reason, words) {
			t.Errorf("explain of a portfolio in state %s: state %q, reason %q, want it to say %q", s, ex.State, ex.Reason, words)
		}
		if got, listed := reasons[ids[s]]; listed && got != ex.Reason {
			t.Errorf("state %s: /status reason %q differs from explain's %q", s, got, ex.Reason)
		}
	}
	if len(explainedBy) != len(portfolio.States()) {
		t.Errorf("explainedBy words %d states, portfolio.States() has %d", len(explainedBy), len(portfolio.States()))
	}

	// The README's data model and metrics list them.
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"status (" + strings.Join(labels(portfolio.States()), " ") + ")",
		"status (" + strings.Join(labels(portfolio.RunStatuses()), " ") + ")",
		"trigger (" + strings.Join(labels(portfolio.Triggers()), " ") + ")",
		"backfill_backfills_total{result=" + strings.Join(labels(Outcomes()), "|") + "}",
	} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README does not list %s", want)
		}
	}
}
