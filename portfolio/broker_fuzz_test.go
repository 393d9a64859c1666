package portfolio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// FuzzReadPositions runs detection and every reader over arbitrary input:
// no panic, a detected format is one of Formats, and the result is either
// a *ValidationError or validated positions with their export lines.
func FuzzReadPositions(f *testing.F) {
	for _, dir := range []string{filepath.Join("testdata", "broker"), filepath.Join("testdata", "positions")} {
		files, err := filepath.Glob(filepath.Join(dir, "*.csv"))
		if err != nil {
			f.Fatal(err)
		}
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, s := range []string{
		"",
		"\"Positions for account X as of 09:35 PM ET, 01/12/2024\"\n\n\"Symbol\",\"Quantity\",\"Market Value\",\n",
		"Statement,Header,Field Name,Field Value\nOpen Positions,Header,Symbol\nOpen Positions,Data,AAPL\n",
		"\"Activity Date\",\"Instrument\",\"Trans Code\",\"Quantity\"\n\"1/2/2024\",\"A\",\"Sell\",\"1\"\n",
		"Account Number,Investment Name,Symbol,Shares,Share Price,Total Value,\n1,X MONEY MARKET,VMFXX,,,\n",
		"Account Number,Symbol,Quantity,Last Price,Current Value\nZ,SPAXX**,,,($1)\n",
	} {
		f.Add([]byte(s))
	}
	now := func() time.Time { return time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC) }
	f.Fuzz(func(t *testing.T, data []byte) {
		format, _ := DetectFormat(data)
		if format != FormatAuto && !slices.Contains(Formats, format) {
			t.Fatalf("detected %q", format)
		}
		imp, err := ReadPositions(bytes.NewReader(data), &ImportOptions{Now: now, MaxRows: 1000, MaxBytes: 1 << 20,
			EntryDate: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			if imp != nil {
				t.Fatalf("result returned with error %v", err)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T %v, want *ValidationError", err, err)
			}
			if ve.Code == "" || ve.Message == "" || len(ve.Errors) == 0 {
				t.Fatalf("incomplete ValidationError %+v", ve)
			}
			for _, e := range ve.Errors {
				if e.Code == "" || e.Message == "" || len(e.Value) > maxValueBytes || len(e.Symbol) > maxValueBytes {
					t.Fatalf("bad FieldError %+v", e)
				}
			}
			return
		}
		if !slices.Contains(Formats, imp.Format) || len(imp.Positions) == 0 {
			t.Fatalf("format %q with %d positions", imp.Format, len(imp.Positions))
		}
		if imp.Format != FormatCanonical && imp.Format != format {
			t.Fatalf("read as %s, detected %s", imp.Format, format)
		}
		checkInvariants(t, imp.Positions)
		for _, fl := range imp.Flows {
			if _, err := ParseDecimal(fl.Amount); err != nil || fl.Line == 0 {
				t.Fatalf("bad flow %+v", fl)
			}
		}
	})
}
