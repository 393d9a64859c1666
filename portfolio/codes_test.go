package portfolio

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCodeErrorsIs(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	_, err := ParsePositions(strings.NewReader(header12+"AAPL,x,1.00,2024-01-02\n"), &ParseOptions{Now: now})
	wrapped := fmt.Errorf("onboard: %w", err)
	if !errors.Is(wrapped, CodePos005) {
		t.Errorf("errors.Is(%v, CodePos005) = false, want true", err)
	}
	if !errors.Is(wrapped, CodeCSVValidation) {
		t.Errorf("errors.Is(err, CodeCSVValidation) = false: the top-level code should match")
	}
	if errors.Is(wrapped, CodePos006) {
		t.Errorf("errors.Is(err, CodePos006) = true for a file without that code")
	}
	var fe *FieldError
	if !errors.As(wrapped, &fe) || fe.Code != CodePos005 || fe.Row != 2 || fe.Field != "Quantity" {
		t.Fatalf("errors.As FieldError = %+v", fe)
	}
	if got, want := fe.Error(), "row 2 (line 2) Quantity: ERR_POS_005 "+msgQuantitySyntax; got != want {
		t.Errorf("FieldError.Error() = %q, want %q", got, want)
	}
	if !errors.Is(fe, CodePos005) || errors.Unwrap(fe) != CodePos005 {
		t.Errorf("FieldError.Unwrap does not return its code")
	}
	if CodePos005.Error() != "ERR_POS_005" || string(CodeCSVValidation) != "ERR_PORT_008" {
		t.Errorf("code text changed: %q, %q", CodePos005, CodeCSVValidation)
	}
}
