package portfolio

import "strings"

// State is the reconciler's state of a portfolio, stored in
// backfill_state.status.
type State string

// States of backfill_state.status; States lists them all.
const (
	// StatePending: due for a backfill (onboarded, requested, rewound, or
	// handed back by a cancelled backfill).
	StatePending State = "pending"
	// StateRunning: a worker holds its lease and is backfilling it.
	StateRunning State = "running"
	// StateCurrent: its snapshots reach the target trading day.
	StateCurrent State = "current"
	// StateWaitingForPrices: the last backfill found no benchmark close
	// for the day it needs; retried after a short wait.
	StateWaitingForPrices State = "waiting_for_prices"
	// StateFailing: its last backfills failed; retried with backoff.
	StateFailing State = "failing"
	// StateQuarantined: it failed too often in a row and waits for a
	// retry by hand.
	StateQuarantined State = "quarantined"
)

// States returns every State, in the order of the backfill_state CHECK
// constraint (the order of the metric labels and of /status).
func States() []State {
	return []State{StatePending, StateRunning, StateCurrent, StateWaitingForPrices, StateFailing, StateQuarantined}
}

// Literal returns s as an SQL string literal. Queries name states as
// literals, not parameters, because the partial indexes of backfill_state
// are chosen only when the planner sees the constant.
func (s State) Literal() string { return literal(s) }

// RunStatuses returns every RunStatus, in the order of the batch_runs CHECK
// constraint.
func RunStatuses() []RunStatus {
	return []RunStatus{RunPending, RunRunning, RunCompleted, RunPartial, RunWaitingForPrices, RunFailed}
}

// Literal returns s as an SQL string literal: the partial unique index of
// the active runs is inferred only from the constants of its predicate.
func (s RunStatus) Literal() string { return literal(s) }

// activeRuns is the predicate of batch_runs_one_active_idx, at most one
// pending or running run per portfolio, as ON CONFLICT must repeat it.
var activeRuns = "status IN (" + Literals(RunPending, RunRunning) + ")"

// Literals returns the values as a comma-separated list of SQL string
// literals, for IN (…) and index predicates.
func Literals[T ~string](values ...T) string {
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(literal(v))
	}
	return b.String()
}

// literal quotes v. The values are this package's constants; doubling
// quotes keeps it an SQL string literal whatever they hold.
func literal[T ~string](v T) string {
	return "'" + strings.ReplaceAll(string(v), "'", "''") + "'"
}
