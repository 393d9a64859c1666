package main

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/daemon"
	"github.com/sigmasight/backfill/portfolio"
)

// watermark reads the portfolio's watermark through explain --json.
func watermark(t *testing.T, env map[string]string, id uuid.UUID) (string, bool) {
	t.Helper()
	var ex daemon.Explanation
	backfilld(t, env, "", "explain", "--json", id.String()).decode(t, &ex)
	if ex.Watermark == nil {
		return "", ex.Requested
	}
	return ex.Watermark.Format(time.DateOnly), ex.Requested
}

// TestChangeCommands: flows add|list, positions list|add|close and delete,
// each change rewinding the watermark to the day before the first day it
// affects, and each kind of bad input refused with exit 2 and nothing
// written.
func TestChangeCommands(t *testing.T) {
	t.Parallel()
	_, env, ids := onboardedWithPrices(t, "Main")
	id := ids[0]
	pid := id.String()
	backfilld(t, env, "", "run", "--once").want(t, exitOK)
	if wm, _ := watermark(t, env, id); wm != "2024-01-05" {
		t.Fatalf("watermark %s after the first backfill", wm)
	}

	// A deposit on the 4th: the 4th and 5th are recomputed, not before.
	backfilld(t, env, "", "flows", "add", pid, "--date", "2024-01-04", "--amount", "5000", "--description", "bonus").
		want(t, exitOK, "Recorded flow", "5000", "2024-01-04")
	if wm, requested := watermark(t, env, id); wm != "2024-01-03" || !requested {
		t.Errorf("after flows add: watermark %s, requested %v; want 2024-01-03, requested", wm, requested)
	}
	var flows []portfolio.StoredFlow
	backfilld(t, env, "", "flows", "list", "--json", pid).decode(t, &flows)
	if len(flows) != 1 || flows[0].Amount.String() != "5000" || flows[0].Description != "bonus" {
		t.Errorf("flows list = %+v", flows)
	}
	backfilld(t, env, "", "flows", "list", pid).want(t, exitOK, "2024-01-04", "5000", "bonus")
	backfilld(t, env, "", "run", "--once").want(t, exitOK)
	if wm, _ := watermark(t, env, id); wm != "2024-01-05" {
		t.Errorf("watermark %s after recomputing", wm)
	}

	// Bad flows: nothing written, exit 2; unknown portfolio: exit 1.
	backfilld(t, env, "", "flows", "add", pid, "--date", "2024-01-04", "--amount", "1e3").want(t, exitInvalid, "ERR_FLOW_001", "nothing was written")
	backfilld(t, env, "", "flows", "add", pid, "--date", "2023-12-01", "--amount", "10").want(t, exitInvalid, "ERR_FLOW_002")
	backfilld(t, env, "", "flows", "add", pid, "--date", "2024-01-04").want(t, exitInvalid, "--amount")
	backfilld(t, env, "", "flows", "add", uuid.NewString(), "--date", "2024-01-04", "--amount", "10").want(t, exitFailure, "not found")
	flows = nil
	backfilld(t, env, "", "flows", "list", "--json", pid).decode(t, &flows)
	if len(flows) != 1 {
		t.Errorf("a refused flow was written: %+v", flows)
	}

	// Positions: list, add as JSON (stdin), close.
	var ps []portfolio.StoredPosition
	backfilld(t, env, "", "positions", "list", "--json", pid).decode(t, &ps)
	if len(ps) != 2 {
		t.Fatalf("positions = %+v", ps)
	}
	backfilld(t, env, `[{"symbol": "MSFT", "quantity": 5, "entry_price": "370.10", "entry_date": "2024-01-03"}]`,
		"positions", "add", "--format", "json", pid, "-").want(t, exitOK, "Added 1 positions", "2024-01-03")
	if wm, _ := watermark(t, env, id); wm != "2024-01-02" {
		t.Errorf("after positions add: watermark %s, want 2024-01-02", wm)
	}
	backfilld(t, env, `[{"symbol": "IBM", "quantity": 0, "entry_price": "10", "entry_date": "2024-01-03"}]`,
		"positions", "add", "--format", "json", pid, "-").want(t, exitInvalid, "ERR_POS_006", "nothing was written")
	backfilld(t, env, `[{"symbol": "IBM", "shares": 1}]`, "positions", "add", "--format", "json", pid, "-").want(t, exitInvalid, "not a JSON array")
	backfilld(t, env, "", "run", "--once").want(t, exitOK)

	var aapl uuid.UUID
	for _, p := range ps {
		if p.Symbol == "AAPL" {
			aapl = p.ID
		}
	}
	backfilld(t, env, "", "positions", "close", pid, aapl.String(), "--date", "2024-01-05", "--price", "181.5").
		want(t, exitOK, "Closed AAPL", "2024-01-05", "181.5")
	if wm, _ := watermark(t, env, id); wm != "2024-01-04" {
		t.Errorf("after positions close: watermark %s, want 2024-01-04", wm)
	}
	backfilld(t, env, "", "positions", "close", pid, aapl.String(), "--date", "2023-12-29", "--price", "181.5").want(t, exitInvalid, "ERR_POS_018")
	backfilld(t, env, "", "positions", "close", pid, aapl.String(), "--date", "2024-01-05", "--price", "-1").want(t, exitInvalid, "ERR_POS_010")
	backfilld(t, env, "", "positions", "close", pid, aapl.String(), "--date", "2024-02-01", "--price", "1").want(t, exitInvalid, "ERR_POS_014")
	backfilld(t, env, "", "positions", "close", pid, uuid.NewString(), "--date", "2024-01-05", "--price", "1").want(t, exitFailure, "not found")

	// Soft delete: gone for the commands that change it.
	backfilld(t, env, "", "delete", pid).want(t, exitOK, "Deleted portfolio "+pid)
	backfilld(t, env, "", "delete", pid).want(t, exitFailure, "not found")
	backfilld(t, env, "", "flows", "add", pid, "--date", "2024-01-04", "--amount", "10").want(t, exitFailure, "not found")
}
