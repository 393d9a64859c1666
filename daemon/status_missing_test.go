package daemon

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"
)

// /status says which day is the oldest missing while a portfolio is behind,
// and null once nothing is missing (not the zero time).
func TestStatusOldestMissingNullWhenNothingMissing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, 5, 2)
	w.onboard("a", w.symbols...)
	r := w.reconciler(nil)

	oldest := func() json.RawMessage {
		t.Helper()
		rec := httptest.NewRecorder()
		r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/status", nil))
		var body struct {
			OldestMissing json.RawMessage `json:"oldest_missing"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("/status: %v\n%s", err, rec.Body.String())
		}
		return body.OldestMissing
	}
	want, _ := json.Marshal(w.sessions[0])
	if got := oldest(); string(got) != string(want) {
		t.Errorf("oldest_missing before the backfill = %s, want %s", got, want)
	}
	if _, err := r.SweepNow(ctx); err != nil {
		t.Fatal(err)
	}
	if got := oldest(); string(got) != "null" {
		t.Errorf("oldest_missing with nothing missing = %s, want null", got)
	}
	st, err := r.Status(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.OldestMissing != nil {
		t.Errorf("Status.OldestMissing = %v, want nil", st.OldestMissing)
	}
}
