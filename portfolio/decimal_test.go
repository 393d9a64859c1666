package portfolio

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
)

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in        string
		want      string
		sign      int
		scale     int
		intDigits int
	}{
		{"0", "0", 0, 0, 0},
		{"-0", "0", 0, 0, 0},
		{"+0", "0", 0, 0, 0},
		{"-0.00", "0.00", 0, 2, 0},
		{"000", "0", 0, 0, 0},
		{"1", "1", 1, 0, 1},
		{"+1", "1", 1, 0, 1},
		{"-1", "-1", -1, 0, 1},
		{"007", "7", 1, 0, 1},
		{"-007.50", "-7.50", -1, 2, 1},
		{"1.50", "1.50", 1, 2, 1},
		{"0.5", "0.5", 1, 1, 0},
		{"00.05", "0.05", 1, 2, 0},
		{"123.4", "123.4", 1, 1, 3},
		{"-0.000001", "-0.000001", -1, 6, 0},
		{"100", "100", 1, 0, 3},
		{"999999999999999999.999999", "999999999999999999.999999", 1, 6, 18},
		{"12345678901234567890123456789012345678901234567890", "12345678901234567890123456789012345678901234567890", 1, 0, 50},
	}
	for _, tt := range tests {
		d, err := ParseDecimal(tt.in)
		if err != nil {
			t.Errorf("ParseDecimal(%q): %v", tt.in, err)
			continue
		}
		if d.String() != tt.want || d.Sign() != tt.sign || d.Scale() != tt.scale || d.IntDigits() != tt.intDigits || d.IsZero() != (tt.sign == 0) {
			t.Errorf("ParseDecimal(%q) = %q sign %d scale %d intDigits %d, want %q %d %d %d",
				tt.in, d, d.Sign(), d.Scale(), d.IntDigits(), tt.want, tt.sign, tt.scale, tt.intDigits)
		}
		// The canonical form parses to itself.
		if again := MustDecimal(d.String()); again != d {
			t.Errorf("ParseDecimal(%q) = %#v, reparsed %#v", tt.in, d, again)
		}
	}
}

func TestParseDecimalRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", " ", " 1", "1 ", "1e3", "1E3", "1e-3", "NaN", "nan", "Inf", "-Inf", "+Infinity", "0x10", "0X1F", "0b1", "0o7",
		"1,000", "$5", "5$", "€5", "1.", ".5", "-.5", "+.5", ".", "-", "+", "--1", "+-1", "-+1", "1.2.3", "1_000",
		"１", "1\x00", "(5)", "5%", "1/2", "\t1",
	} {
		d, err := ParseDecimal(in)
		if err == nil {
			t.Errorf("ParseDecimal(%q) = %s, want an error", in, d)
			continue
		}
		if !strings.HasPrefix(err.Error(), "parse decimal ") {
			t.Errorf("ParseDecimal(%q) error %q has no context", in, err)
		}
	}
	long := strings.Repeat("9", 1<<20) + "x"
	if _, err := ParseDecimal(long); err == nil || len(err.Error()) > 300 {
		t.Errorf("ParseDecimal(1 MB) error = %.300v, want a short error", err)
	}
}

func TestMustDecimalPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("MustDecimal(\"1e3\") did not panic")
		}
	}()
	MustDecimal("1e3")
}

func TestDecimalZeroValue(t *testing.T) {
	t.Parallel()
	var d Decimal
	if d.String() != "0" || d.Sign() != 0 || !d.IsZero() || d.Scale() != 0 || d.IntDigits() != 0 || d.Float64() != 0 {
		t.Errorf("zero Decimal = %q sign %d scale %d", d, d.Sign(), d.Scale())
	}
	if d.Cmp(MustDecimal("0.000")) != 0 || d.Cmp(MustDecimal("-0.1")) != 1 {
		t.Error("zero Decimal compares wrongly")
	}
}

func TestDecimalCmp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"1", "1", 0},
		{"1.5", "1.50", 0},
		{"0", "-0.00", 0},
		{"1", "2", -1},
		{"2", "1", 1},
		{"-1", "1", -1},
		{"-2", "-1", -1},
		{"-1.5", "-1.50001", 1},
		{"10", "9.999", 1},
		{"0.1", "0.09", 1},
		{"0.001", "0.01", -1},
		{"123456789012345678901234567890", "123456789012345678901234567891", -1},
		{"99", "100", -1},
		{"-99", "-100", 1},
	}
	for _, tt := range tests {
		a, b := MustDecimal(tt.a), MustDecimal(tt.b)
		if got := a.Cmp(b); got != tt.want {
			t.Errorf("Cmp(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := b.Cmp(a); got != -tt.want {
			t.Errorf("Cmp(%s, %s) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

func TestDecimalHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		trimmed string
		sig     int
	}{
		{"395.00", "395", 0},
		{"4.50", "4.5", 1},
		{"100", "100", 0},
		{"0.000", "0", 0},
		{"-1.2300", "-1.23", 2},
		{"1.0000001", "1.0000001", 7},
	}
	for _, tt := range tests {
		d := MustDecimal(tt.in)
		if got := d.trimmed(); got != tt.trimmed {
			t.Errorf("%s.trimmed() = %q, want %q", tt.in, got, tt.trimmed)
		}
		if got := d.significantScale(); got != tt.sig {
			t.Errorf("%s.significantScale() = %d, want %d", tt.in, got, tt.sig)
		}
	}
}

func TestDecimalFloat64(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want float64
	}{
		{"0", 0},
		{"1.5", 1.5},
		{"-0.1", -0.1},
		{"123456.789", 123456.789},
		{"1" + strings.Repeat("0", 400), math.Inf(1)},
	}
	for _, tt := range tests {
		if got := MustDecimal(tt.in).Float64(); got != tt.want {
			t.Errorf("Float64(%.20s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestDecimalJSON(t *testing.T) {
	t.Parallel()
	type doc struct {
		Price Decimal  `json:"price"`
		Opt   *Decimal `json:"opt,omitempty"`
	}
	b, err := json.Marshal(doc{Price: MustDecimal("+0012.50")})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"price":12.50}` {
		t.Errorf("Marshal = %s, want {\"price\":12.50}", b)
	}

	for _, tt := range []struct {
		in   string
		want string
	}{
		{`{"price":12.50}`, "12.50"},
		{`{"price":"12.50"}`, "12.50"},
		{`{"price":"-0"}`, "0"},
		{`{"price":-3}`, "-3"},
		{`{"price":"1\u0032"}`, "12"},
		{`{"price":null}`, "7"}, // null leaves the value alone
	} {
		d := doc{Price: MustDecimal("7")}
		if err := json.Unmarshal([]byte(tt.in), &d); err != nil {
			t.Errorf("Unmarshal(%s): %v", tt.in, err)
			continue
		}
		if d.Price.String() != tt.want {
			t.Errorf("Unmarshal(%s) = %s, want %s", tt.in, d.Price, tt.want)
		}
	}
	for _, in := range []string{`{"price":1e3}`, `{"price":"1e3"}`, `{"price":"NaN"}`, `{"price":true}`, `{"price":""}`, `{"price":" 1"}`} {
		var d doc
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("Unmarshal(%s) = %s, want an error", in, d.Price)
		}
	}
}

func TestDecimalSQL(t *testing.T) {
	t.Parallel()
	var _ driver.Valuer = Decimal{}
	var _ sql.Scanner = (*Decimal)(nil)

	v, err := MustDecimal("-0012.3400").Value()
	if err != nil || v != "-12.3400" {
		t.Errorf("Value() = %#v, %v; want \"-12.3400\"", v, err)
	}

	tests := []struct {
		src  any
		want string
	}{
		{"1.50", "1.50"},
		{[]byte("-2.25"), "-2.25"},
		{int64(-42), "-42"},
		{int32(7), "7"},
		{5, "5"},
		{0.1, "0.1"},
		{float64(100), "100"},
		{float32(2.5), "2.5"},
	}
	for _, tt := range tests {
		var d Decimal
		if err := d.Scan(tt.src); err != nil || d.String() != tt.want {
			t.Errorf("Scan(%#v) = %s, %v; want %s", tt.src, d, err, tt.want)
		}
	}
	for _, src := range []any{nil, "NaN", "Infinity", []byte("1e5"), math.NaN(), math.Inf(-1), true, struct{}{}} {
		d := MustDecimal("9")
		if err := d.Scan(src); err == nil {
			t.Errorf("Scan(%#v) = %s, want an error", src, d)
		}
		if d.String() != "9" {
			t.Errorf("failed Scan(%#v) changed the value to %s", src, d)
		}
	}
}

// TestDecimalPgx checks that pgx v5 encodes a Decimal into NUMERIC exactly
// (through driver.Valuer) and scans NUMERIC back into one (through
// sql.Scanner), in both wire formats, without a database.
func TestDecimalPgx(t *testing.T) {
	t.Parallel()
	m := pgtype.NewMap()
	for _, s := range []string{"0", "1.50", "-12.3400", "999999999999999999.999999", "0.0001", "123456789012345678901234567890.123456"} {
		for _, format := range []int16{pgtype.TextFormatCode, pgtype.BinaryFormatCode} {
			buf, err := m.Encode(pgtype.NumericOID, format, MustDecimal(s), nil)
			if err != nil {
				t.Fatalf("Encode(%s, format %d): %v", s, format, err)
			}
			var n pgtype.Numeric
			if err := m.Scan(pgtype.NumericOID, format, buf, &n); err != nil {
				t.Fatalf("Scan into Numeric: %v", err)
			}
			nv, _ := n.Value()
			if got, want := MustDecimal(nv.(string)), MustDecimal(s); got.Cmp(want) != 0 {
				t.Errorf("NUMERIC holds %s, want %s", nv, s)
			}
			var d Decimal
			if err := m.Scan(pgtype.NumericOID, format, buf, &d); err != nil {
				t.Fatalf("Scan(%s, format %d) into Decimal: %v", s, format, err)
			}
			if d.Cmp(MustDecimal(s)) != 0 {
				t.Errorf("round trip of %s in format %d = %s", s, format, d)
			}
		}
	}
}
