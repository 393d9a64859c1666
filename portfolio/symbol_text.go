package portfolio

import (
	"strings"
)

// isSymbolText reports whether s has only letters, digits, '.', '_' and '-'
// (the pattern ^[A-Za-z0-9._-]+$, checked by hand for speed).
func isSymbolText(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// upperASCII upper-cases ASCII letters, without allocating when s has none in
// lower case.
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}
