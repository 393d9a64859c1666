package daemon

import "github.com/sigmasight/backfill/portfolio"

// Outcome is how one claimed backfill ended, the result label of
// backfill_backfills_total.
type Outcome string

// Outcomes of a backfill; Outcomes lists them all. The first four are the
// run statuses a run can end with.
const (
	OutcomeCompleted        = Outcome(portfolio.RunCompleted)
	OutcomePartial          = Outcome(portfolio.RunPartial)
	OutcomeWaitingForPrices = Outcome(portfolio.RunWaitingForPrices)
	OutcomeFailed           = Outcome(portfolio.RunFailed)
	// OutcomePanic: the backfill panicked; the panic was recovered.
	OutcomePanic Outcome = "panic"
	// OutcomeTimeout: the backfill ran past Config.BackfillTimeout.
	OutcomeTimeout Outcome = "timeout"
	// OutcomeLeaseLost: another worker took the lease over; this one
	// wrote nothing more.
	OutcomeLeaseLost Outcome = "lease_lost"
)

// Outcomes returns every Outcome, in the order of the metric's labels.
func Outcomes() []Outcome {
	return []Outcome{OutcomeCompleted, OutcomePartial, OutcomeWaitingForPrices, OutcomeFailed,
		OutcomePanic, OutcomeTimeout, OutcomeLeaseLost}
}

// labels returns values as metric label values.
func labels[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}
