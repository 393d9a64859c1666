package portfolio

import (
	"slices"
	"strings"
)

// Investment subtypes valid for each class.
var (
	publicSubtypes  = []string{"STOCK", "ETF", "MUTUAL_FUND", "BOND", "CASH"}
	optionSubtypes  = []string{"CALL", "PUT"}
	privateSubtypes = []string{
		"PRIVATE_EQUITY", "VENTURE_CAPITAL", "HEDGE_FUND", "PRIVATE_REIT", "REAL_ESTATE",
		"CRYPTOCURRENCY", "CRYPTO", "ART", "MONEY_MARKET", "TREASURY_BILLS", "CASH", "COMMODITY", "OTHER",
	}
)

const subtypeCash = "CASH"

// parseInvestmentClass parses a class in any case; "" (blank) is valid and
// means "derive it".
func parseInvestmentClass(s string) (InvestmentClass, bool) {
	switch {
	case s == "":
		return "", true
	case strings.EqualFold(s, string(ClassPublic)):
		return ClassPublic, true
	case strings.EqualFold(s, string(ClassOptions)):
		return ClassOptions, true
	case strings.EqualFold(s, string(ClassPrivate)):
		return ClassPrivate, true
	}
	return "", false
}

// canonicalSubtype returns the upper-case constant for a known subtype in any
// case, or "" when s is blank or unknown.
func canonicalSubtype(s string) string {
	if s == "" {
		return ""
	}
	for _, list := range [][]string{publicSubtypes, optionSubtypes, privateSubtypes} {
		for _, t := range list {
			if strings.EqualFold(s, t) {
				return t
			}
		}
	}
	return ""
}

// classOfSubtype returns the class a subtype belongs to when it belongs to
// exactly one, and PUBLIC otherwise.
func classOfSubtype(subtype string) InvestmentClass {
	if subtype == "" {
		return ClassPublic
	}
	var class InvestmentClass
	n := 0
	if slices.Contains(publicSubtypes, subtype) {
		class, n = ClassPublic, n+1
	}
	if slices.Contains(optionSubtypes, subtype) {
		class, n = ClassOptions, n+1
	}
	if slices.Contains(privateSubtypes, subtype) {
		class, n = ClassPrivate, n+1
	}
	if n == 1 {
		return class
	}
	return ClassPublic
}
