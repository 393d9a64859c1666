package portfolio

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Decimal is an exact decimal number, parsed from strict text and kept in a
// canonical text form. It is how quantities and prices travel from the CSV to
// the NUMERIC columns without a detour through float64.
//
// The accepted syntax is an optional sign ('+' or '-'), one or more digits,
// and optionally a '.' followed by one or more digits: "42", "-0.5", "+007.10".
// Everything else is rejected: an empty string, exponents ("1e3"), "NaN",
// "Inf", hexadecimal ("0x10"), thousands separators ("1,000"), currency
// symbols ("$5"), surrounding spaces (" 1"), and a point without digits on
// both sides (".5" and "5."). Requiring digits on both sides of the point is
// the JSON number grammar, so every canonical Decimal is also a JSON number.
//
// The canonical form has no '+', no leading zeros in the integer part (except
// a single "0"), keeps the scale as written ("1.50" stays "1.50"), and never
// shows a negative zero ("-0.00" becomes "0.00").
//
// The zero value is 0. Decimal is comparable with ==, but == compares the
// text: use Cmp to compare values ("1.5" and "1.50" are equal by Cmp).
type Decimal struct {
	s     string // canonical text; "" is the zero value and means "0"
	scale int32  // digits after the point
	sign  int8   // -1, 0 or +1
}

// ParseDecimal parses s in the strict syntax described on Decimal.
func ParseDecimal(s string) (Decimal, error) {
	d, ok := parseDecimal(s)
	if !ok {
		return Decimal{}, fmt.Errorf("parse decimal %q: %s", truncateValue(s), decimalSyntaxReason(s))
	}
	return d, nil
}

// MustDecimal is like ParseDecimal but panics when s is not a valid decimal.
// It is meant for constants and tests.
func MustDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// parseDecimal is ParseDecimal without building an error, so that the CSV
// parser's hot path does not allocate. When s is already canonical the
// result shares its memory.
func parseDecimal(s string) (Decimal, bool) {
	i := 0
	neg, plus := false, false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg, plus = s[i] == '-', s[i] == '+'
		i++
	}
	intStart := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intEnd := i
	if intEnd == intStart {
		return Decimal{}, false
	}
	fracStart, fracEnd := intEnd, intEnd
	if i < len(s) && s[i] == '.' {
		i++
		fracStart = i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		fracEnd = i
		if fracEnd == fracStart {
			return Decimal{}, false
		}
	}
	if i != len(s) {
		return Decimal{}, false
	}

	// Strip leading zeros, keeping one digit before the point.
	j := intStart
	for j < intEnd-1 && s[j] == '0' {
		j++
	}
	intPart, frac := s[j:intEnd], s[fracStart:fracEnd]
	zero := intPart == "0" && strings.Trim(frac, "0") == ""

	d := Decimal{scale: int32(len(frac))}
	switch {
	case zero:
		d.sign = 0
	case neg:
		d.sign = -1
	default:
		d.sign = 1
	}
	if !plus && j == intStart && !(zero && s[0] == '-') {
		d.s = s
		return d, true
	}
	var b strings.Builder
	b.Grow(len(s))
	if d.sign < 0 {
		b.WriteByte('-')
	}
	b.WriteString(intPart)
	if len(frac) > 0 {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	d.s = b.String()
	return d, true
}

// decimalSyntaxReason explains why s is not a valid decimal, for error
// messages.
func decimalSyntaxReason(s string) string {
	switch {
	case s == "":
		return "empty string"
	case strings.ContainsAny(s, " \t\r\n"):
		return "spaces are not allowed"
	case strings.ContainsRune(s, ','):
		return "thousands separators are not allowed"
	case strings.ContainsAny(s, "eE") && strings.Trim(s, "+-.0123456789eE") == "":
		return "exponent notation is not allowed"
	default:
		return "want digits with an optional sign and decimal point, like -12.50"
	}
}

// String returns the canonical text form.
func (d Decimal) String() string {
	if d.s == "" {
		return "0"
	}
	return d.s
}

// parts returns the integer digits (no sign, no leading zeros except a single
// "0") and the fraction digits as written.
func (d Decimal) parts() (intPart, frac string) {
	s := d.String()
	if s[0] == '-' {
		s = s[1:]
	}
	if d.scale == 0 {
		return s, ""
	}
	n := len(s) - int(d.scale)
	return s[:n-1], s[n:]
}

// Float64 returns the float64 nearest to d; ±Inf when d is beyond the
// float64 range.
func (d Decimal) Float64() float64 {
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// Sign returns -1, 0 or +1 as d is negative, zero or positive.
func (d Decimal) Sign() int { return int(d.sign) }

// IsZero reports whether d is zero (at any scale: "0.00" is zero).
func (d Decimal) IsZero() bool { return d.sign == 0 }

// Scale returns the number of digits after the point as written: 2 for "1.50".
func (d Decimal) Scale() int { return int(d.scale) }

// IntDigits returns the number of digits before the point, ignoring leading
// zeros: 3 for "123.4", 0 for "0.5".
func (d Decimal) IntDigits() int {
	intPart, _ := d.parts()
	if intPart == "0" {
		return 0
	}
	return len(intPart)
}

// significantScale is the scale without trailing zeros: 1 for "1.50". It is
// what a column's scale limit must accept, since trailing zeros lose nothing.
func (d Decimal) significantScale() int {
	_, frac := d.parts()
	return len(strings.TrimRight(frac, "0"))
}

// trimmed returns the canonical text without trailing fraction zeros (and
// without the point when no fraction is left): "395" for "395.00", "4.5" for
// "4.50". It shares d's memory.
func (d Decimal) trimmed() string {
	s := d.String()
	if d.scale == 0 {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// Cmp compares d and o exactly and returns -1, 0 or +1 as d is less than,
// equal to, or greater than o. Scale does not matter: "1.5" equals "1.50".
func (d Decimal) Cmp(o Decimal) int {
	if d.sign != o.sign {
		if d.sign < o.sign {
			return -1
		}
		return 1
	}
	if d.sign == 0 {
		return 0
	}
	c := cmpAbsDecimal(d, o)
	if d.sign < 0 {
		return -c
	}
	return c
}

// cmpAbsDecimal compares |a| and |b|.
func cmpAbsDecimal(a, b Decimal) int {
	ai, af := a.parts()
	bi, bf := b.parts()
	if len(ai) != len(bi) {
		if len(ai) < len(bi) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(ai, bi); c != 0 {
		return c
	}
	n := max(len(af), len(bf))
	for k := range n {
		x, y := byte('0'), byte('0')
		if k < len(af) {
			x = af[k]
		}
		if k < len(bf) {
			y = bf[k]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Value implements database/sql/driver.Valuer. It returns the canonical text,
// which PostgreSQL (and pgx v5) reads exactly into a NUMERIC column.
func (d Decimal) Value() (driver.Value, error) {
	return d.String(), nil
}

// Scan implements database/sql.Scanner. It accepts the text of a NUMERIC as
// string or []byte (what pgx and database/sql deliver), and for convenience
// int64, int32, int, float64 and float32 (a float is converted through its
// shortest exact decimal text; NaN and ±Inf are rejected). A NULL is an
// error: scan into sql.Null[Decimal] or *Decimal for nullable columns.
func (d *Decimal) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	case int32:
		s = strconv.FormatInt(int64(v), 10)
	case int:
		s = strconv.Itoa(v)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("scan decimal: %v is not a finite number", v)
		}
		s = strconv.FormatFloat(v, 'f', -1, 64)
	case float32:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("scan decimal: %v is not a finite number", v)
		}
		s = strconv.FormatFloat(f, 'f', -1, 32)
	case nil:
		return errors.New("scan decimal: NULL into Decimal (scan into sql.Null[Decimal] or *Decimal)")
	default:
		return fmt.Errorf("scan decimal: unsupported type %T", src)
	}
	v, err := ParseDecimal(s)
	if err != nil {
		return fmt.Errorf("scan decimal: %w", err)
	}
	*d = v
	return nil
}

// MarshalJSON encodes d as a JSON number in canonical form (1.50, not "1.50"),
// so no precision is lost and the scale is kept.
func (d Decimal) MarshalJSON() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalJSON accepts a JSON number or a JSON string holding a decimal, both
// in the strict syntax described on Decimal (so 1e3 is rejected). JSON null
// leaves d unchanged, as is conventional.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("unmarshal decimal: %w", err)
		}
	}
	v, err := ParseDecimal(s)
	if err != nil {
		return fmt.Errorf("unmarshal decimal: %w", err)
	}
	*d = v
	return nil
}
