package portfolio

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func FuzzParsePositions(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "positions", "*.csv"))
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
	for _, s := range []string{
		"",
		"\xEF\xBB\xBF" + strings.ReplaceAll(header12+"AAPL,1,1.00,2024-01-02\n", "\n", "\r\n"),
		header12 + ",10,8.75,2024-02-01,OPTIONS,,DIA,395.00,2024-08-16,CALL,,\n",
		header12 + "AAPL240315P00160500,-3,2.10,2024-02-05,,,,,,,,\n",
		header12 + "CASH_USD,100,1,2024-01-02\nTSLA,50,185.00,2023-12-01,PUBLIC,STOCK,,,,2024-01-15,215.00\n",
		"Symbol,Notes,Quantity,Entry Price Per Share,Entry Date\nA,\"x\n# y\",1,1,2024-01-02\n",
		"Symbol;Quantity\n",
		header12 + "\"AAPL,1,1,2024-01-02\n",
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := &ParseOptions{Now: func() time.Time { return now }, MaxRows: 1000, MaxBytes: 1 << 20}
		positions, err := ParsePositions(bytes.NewReader(data), opts)
		if err != nil {
			if positions != nil {
				t.Fatalf("%d positions returned with error %v", len(positions), err)
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
			_ = ve.Error()
			return
		}
		if len(positions) == 0 {
			t.Fatal("success without positions")
		}
		checkInvariants(t, positions)
		for i, p := range positions {
			if i > 0 && (p.Row != positions[i-1].Row+1 || p.Line <= positions[i-1].Line) {
				t.Fatalf("rows out of order: %d/%d after %d/%d", p.Row, p.Line, positions[i-1].Row, positions[i-1].Line)
			}
		}
	})
}

// benchmarkCSV builds a positions file of n data rows: stocks, ETFs, shorts,
// closed positions, cash and options in both formats.
func benchmarkCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("# generated for BenchmarkParsePositions\n")
	b.WriteString(header12)
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		date := start.AddDate(0, 0, i%1500).Format(time.DateOnly)
		sym := fmt.Sprintf("S%04d", i/1500)
		switch i % 10 {
		case 0, 1, 2, 3:
			fmt.Fprintf(&b, "%s,%d,%d.%02d,%s,PUBLIC,STOCK,,,,,,\n", sym, 1+i%500, 10+i%300, i%100, date)
		case 4:
			fmt.Fprintf(&b, "%s,%d,%d.25,%s,,ETF,,,,,,\n", sym, 5+i%50, 100+i%50, date)
		case 5:
			fmt.Fprintf(&b, "%s,-%d,%d.5,%s,PUBLIC,STOCK,,,,,,\n", sym, 1+i%90, 20+i%80, date)
		case 6:
			fmt.Fprintf(&b, "%s,%d,%d.10,%s,PUBLIC,STOCK,,,,,2026-01-02,%d.20\n", sym, 3+i%40, 30+i%40, date, 31+i%40)
		case 7:
			fmt.Fprintf(&b, "CASH_%s,%d.55,1,%s,,,,,,,,\n", sym, 1000+i, date)
		case 8:
			fmt.Fprintf(&b, ",%d,%d.75,%s,OPTIONS,,%s,%d.50,2027-01-15,CALL,,\n", 1+i%9, 1+i%20, date, sym, 100+i%300)
		case 9:
			fmt.Fprintf(&b, "%s_P%d_20270115,-%d,%d.05,%s,OPTIONS,,%s,%d,2027-01-15,PUT,,\n", sym, 90+i%200, 1+i%9, 2+i%10, date, sym, 90+i%200)
		}
	}
	return b.Bytes()
}

func BenchmarkParsePositions(b *testing.B) {
	const rows = 10000
	data := benchmarkCSV(rows)
	opts := &ParseOptions{Now: func() time.Time { return time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC) }}
	positions, err := ParsePositions(bytes.NewReader(data), opts)
	if err != nil || len(positions) != rows {
		b.Fatalf("generated file: %d positions, %.500v", len(positions), err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ParsePositions(bytes.NewReader(data), opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*rows/b.Elapsed().Seconds(), "rows/s")
}
