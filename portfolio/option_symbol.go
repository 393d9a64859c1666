package portfolio

import (
	"time"
)

// isOCCSymbol reports whether s is an OCC option symbol without padding,
// ^[A-Z]{1,6}\d{6}[CP]\d{8}$ in any case: root, YYMMDD expiration, C or P,
// and the strike in thousandths.
func isOCCSymbol(s string) bool {
	root := len(s) - 15
	if root < 1 || root > 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i < root:
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				return false
			}
		case i == root+6:
			if c != 'C' && c != 'P' && c != 'c' && c != 'p' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// decodeOCCSymbol returns the option columns encoded in an OCC symbol (which
// isOCCSymbol accepted), as text for the usual checks: AAPL240315C00160500 →
// AAPL, 160.5, 2024-03-15, CALL.
func decodeOCCSymbol(s string) (underlying, strike, expiration, optionType string) {
	n := len(s)
	root := n - 15
	underlying = s[:root]
	yymmdd := s[root : root+6]
	expiration = "20" + yymmdd[:2] + "-" + yymmdd[2:4] + "-" + yymmdd[4:]
	optionType = "CALL"
	if s[root+6] == 'P' || s[root+6] == 'p' {
		optionType = "PUT"
	}
	d, _ := parseDecimal(s[n-8:n-3] + "." + s[n-3:])
	strike = d.trimmed()
	return underlying, strike, expiration, optionType
}

// deriveOptionSymbol builds UNDERLYING_{C|P}{strike}_{YYYYMMDD}, the readable
// form of the template's examples: DIA_C395_20240816.
func deriveOptionSymbol(underlying string, strike Decimal, expiry time.Time, t OptionType) string {
	k := strike.trimmed()
	b := make([]byte, 0, len(underlying)+len(k)+12)
	for i := 0; i < len(underlying); i++ {
		c := underlying[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	b = append(b, '_')
	if t == OptionPut {
		b = append(b, 'P')
	} else {
		b = append(b, 'C')
	}
	b = append(b, k...)
	b = append(b, '_')
	y, m, d := expiry.Date()
	b = appendDigits(b, y, 4)
	b = appendDigits(b, int(m), 2)
	b = appendDigits(b, d, 2)
	return string(b)
}

// appendDigits appends v (0 <= v < 10000) as exactly width (<= 4) digits.
func appendDigits(b []byte, v, width int) []byte {
	var d [4]byte
	for i := width - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:width]...)
}
