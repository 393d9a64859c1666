package portfolio

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestValidationErrorDetails(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, MaxListedErrors, MaxListedErrors + 1, 5000} {
		e := &ValidationError{Code: CodeCSVValidation}
		for i := range n {
			e.Errors = append(e.Errors, FieldError{Row: i + 2, Code: CodePos004})
		}
		d := e.Details()
		if want := min(n, MaxListedErrors); len(d.Errors) != want || d.TotalErrors != n {
			t.Errorf("%d errors: details list %d of %d, want %d of %d", n, len(d.Errors), d.TotalErrors, want, n)
		}
		if n > 0 && d.Errors[len(d.Errors)-1].Row != len(d.Errors)+1 {
			t.Errorf("%d errors: not the first ones listed", n)
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 && string(b) != `{"errors":[],"total_errors":0}` {
			t.Errorf("no errors: %s", b)
		}
		if want := fmt.Sprintf(`"total_errors":%d}`, n); string(b[len(b)-len(want):]) != want {
			t.Errorf("%d errors: JSON ends %s, want %s", n, b[max(0, len(b)-40):], want)
		}
	}
}
