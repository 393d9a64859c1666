package daemon

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/sigmasight/backfill/portfolio"
)

// /status entries and explain share the Progress fields, embedded where
// each had them: the key order of their JSON is part of the output.
func TestProgressKeepsJSONKeyOrder(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	p := Progress{LagDays: 2, Attempts: 1, LastError: "boom", NextAttemptAt: now, Due: true, LeaseOwner: "w", LeaseExpires: &now}
	keys := func(v any) []string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range regexp.MustCompile(`"([a-z_]+)":`).FindAllStringSubmatch(string(b), -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
		return out
	}
	got := keys(PortfolioStatus{State: portfolio.StateFailing, Watermark: &now, Progress: p, Requested: true, Reason: "r"})
	want := []string{"portfolio_id", "state", "watermark", "lag_trading_days", "attempts", "last_error", "next_attempt_at",
		"due", "lease_owner", "lease_expires_at", "requested", "reason"}
	if !slices.Equal(got, want) {
		t.Errorf("PortfolioStatus keys %v, want %v", got, want)
	}
	got = keys(Explanation{State: portfolio.StateFailing, DeletedAt: &now, Target: &now, Progress: p, LeaseExpired: true,
		RequestedAt: &now, Benchmark: SymbolPrice{Symbol: "SPY"}})
	want = []string{"portfolio_id", "name", "account_name", "inception_date", "deleted_at", "state", "watermark",
		"last_session", "target", "lag_trading_days", "attempts", "last_error", "next_attempt_at", "due", "lease_owner",
		"lease_expires_at", "lease_expired", "requested", "requested_at", "reason", "runs", "benchmark", "symbol",
		"latest_close", "close", "has_close", "needed", "prices"}
	if !slices.Equal(got, want) {
		t.Errorf("Explanation keys %v, want %v", got, want)
	}
}
