package portfolio

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Messages used by the row validation beyond the defaults of Message. They
// are constants so that reporting an error does not format strings.
const (
	msgQuantitySyntax   = "Quantity must be a valid number (digits with an optional sign and decimal point, like -12.5; no exponent, thousands separators or currency symbols)"
	msgQuantityTooLarge = "Quantity is too large (at most 18 digits before the decimal point)"

	msgEntryPriceSyntax   = "Entry price must be a valid number (digits with an optional decimal point, like 12.50; no exponent, thousands separators or currency symbols)"
	msgEntryPriceTooLarge = "Entry price is too large (at most 16 digits before the decimal point)"
	msgExitPriceSyntax    = "Exit price must be a valid number (digits with an optional decimal point, like 12.50; no exponent, thousands separators or currency symbols)"
	msgExitPriceTooLarge  = "Exit price is too large (at most 16 digits before the decimal point)"
	msgExitPricePositive  = "Exit price must be positive"
	msgExitPriceScale     = "Exit price has too many decimal places (max 4)"

	msgEntryDateFormat = "Entry date must be a valid date in YYYY-MM-DD format"
	msgExitDateFormat  = "Exit date must be a valid date in YYYY-MM-DD format"
	msgExitDateFuture  = "Exit date cannot be in the future"
	msgExitPriceNeeded = "Exit price is required when an exit date is given"
	msgExitDateNeeded  = "Exit date is required when an exit price is given"

	msgCashOptions     = "Symbols starting with CASH_ are cash and cannot be OPTIONS"
	msgSubtypeCash     = "Symbols starting with CASH_ are cash: Investment subtype must be CASH or blank"
	msgSubtypeRequired = "Investment subtype is required for PRIVATE holdings"
	msgSubtypePublic   = "Investment subtype is not valid for PUBLIC (use STOCK, ETF, MUTUAL_FUND, BOND or CASH)"
	msgSubtypeOptions  = "Investment subtype is not valid for OPTIONS (use CALL, PUT or leave it blank)"
	msgSubtypePrivate  = "Investment subtype is not valid for PRIVATE (use PRIVATE_EQUITY, VENTURE_CAPITAL, HEDGE_FUND, PRIVATE_REIT, REAL_ESTATE, CRYPTOCURRENCY, CRYPTO, ART, MONEY_MARKET, TREASURY_BILLS, CASH, COMMODITY or OTHER)"

	msgUnderlyingRequired = "Underlying symbol is required for options"
	msgUnderlyingTooLong  = "Underlying symbol must be at most 100 characters"
	msgUnderlyingChars    = "Underlying symbol contains invalid characters (allowed: letters, digits, '.', '_' and '-')"
	msgUnderlyingDerived  = "Underlying symbol is too long to derive an option symbol from it (a symbol is at most 100 characters); give the Symbol"
	msgStrikeRequired     = "Strike price is required for options"
	msgStrikeSyntax       = "Strike price must be a valid number (digits with an optional decimal point, like 450.00)"
	msgStrikePositive     = "Strike price must be positive"
	msgStrikeTooLarge     = "Strike price is too large (at most 16 digits before the decimal point)"
	msgStrikeScale        = "Strike price has too many decimal places (max 4)"
	msgExpirationRequired = "Expiration date is required for options"
	msgExpirationFormat   = "Expiration date must be a valid date in YYYY-MM-DD format"
	msgExpirationBefore   = "Expiration date cannot be before the entry date"
	msgOptionTypeRequired = "Option type is required for options (CALL or PUT)"
	msgOptionTypeMismatch = "Option type does not match the investment subtype (CALL or PUT)"
)

// priceMessages are the messages for one price column.
type priceMessages struct {
	required, syntax, tooLarge, positive, scale string
}

var (
	entryPriceMessages = priceMessages{
		required: codeMessages[CodePos008],
		syntax:   msgEntryPriceSyntax,
		tooLarge: msgEntryPriceTooLarge,
		positive: codeMessages[CodePos010],
		scale:    codeMessages[CodePos011],
	}
	exitPriceMessages = priceMessages{
		syntax:   msgExitPriceSyntax,
		tooLarge: msgExitPriceTooLarge,
		positive: msgExitPricePositive,
		scale:    msgExitPriceScale,
	}
)

// fail records an error of the current row.
func (p *positionsParser) fail(c csvColumn, code Code, msg, value string) {
	p.errs = append(p.errs, FieldError{
		Row:     p.row,
		Line:    p.line,
		Field:   c.name(),
		Code:    code,
		Message: msg,
		Value:   strings.Clone(truncateValue(value)),
	})
}

// checkQuantity validates the Quantity field.
func (p *positionsParser) checkQuantity(s string) (Decimal, bool) {
	if s == "" {
		p.fail(colQuantity, CodePos004, codeMessages[CodePos004], s)
		return Decimal{}, false
	}
	d, ok := parseDecimal(s)
	switch {
	case !ok:
		p.fail(colQuantity, CodePos005, msgQuantitySyntax, s)
	case d.IsZero():
		p.fail(colQuantity, CodePos006, codeMessages[CodePos006], s)
	case d.IntDigits() > maxQuantityIntDigit:
		p.fail(colQuantity, CodePos005, msgQuantityTooLarge, s)
	case d.significantScale() > maxQuantityScale:
		p.fail(colQuantity, CodePos007, codeMessages[CodePos007], s)
	default:
		return d, true
	}
	return Decimal{}, false
}

// checkPrice validates a price field (entry or exit price).
func (p *positionsParser) checkPrice(c csvColumn, s string, m *priceMessages) (Decimal, bool) {
	if s == "" {
		p.fail(c, CodePos008, m.required, s)
		return Decimal{}, false
	}
	d, ok := parseDecimal(s)
	switch {
	case !ok:
		p.fail(c, CodePos009, m.syntax, s)
	case d.Sign() <= 0:
		p.fail(c, CodePos010, m.positive, s)
	case d.IntDigits() > maxPriceIntDigits:
		p.fail(c, CodePos009, m.tooLarge, s)
	case d.significantScale() > maxPriceScale:
		p.fail(c, CodePos011, m.scale, s)
	default:
		return d, true
	}
	return Decimal{}, false
}

// checkEntryDate validates the Entry Date field.
func (p *positionsParser) checkEntryDate(s string) (time.Time, bool) {
	if s == "" {
		p.fail(colEntryDate, CodePos012, codeMessages[CodePos012], s)
		return time.Time{}, false
	}
	d, ok := parseCSVDate(s)
	switch {
	case !ok:
		p.fail(colEntryDate, CodePos013, msgEntryDateFormat, s)
	case d.After(p.today):
		p.fail(colEntryDate, CodePos014, codeMessages[CodePos014], s)
	case d.Before(p.oldest):
		p.fail(colEntryDate, CodePos015, codeMessages[CodePos015], s)
	default:
		return d, true
	}
	return time.Time{}, false
}

// checkUnderlying validates an option's underlying symbol.
func (p *positionsParser) checkUnderlying(s string) (string, bool) {
	switch {
	case s == "":
		p.fail(colUnderlying, CodePos019, msgUnderlyingRequired, s)
	case len(s) > maxSymbolChars && utf8.RuneCountInString(s) > maxSymbolChars:
		p.fail(colUnderlying, CodePos019, msgUnderlyingTooLong, s)
	case !isSymbolText(s):
		p.fail(colUnderlying, CodePos019, msgUnderlyingChars, s)
	default:
		return s, true
	}
	return "", false
}

// checkStrike validates an option's strike price.
func (p *positionsParser) checkStrike(s string) (Decimal, bool) {
	if s == "" {
		p.fail(colStrike, CodePos020, msgStrikeRequired, s)
		return Decimal{}, false
	}
	d, ok := parseDecimal(s)
	switch {
	case !ok:
		p.fail(colStrike, CodePos020, msgStrikeSyntax, s)
	case d.Sign() <= 0:
		p.fail(colStrike, CodePos020, msgStrikePositive, s)
	case d.IntDigits() > maxPriceIntDigits:
		p.fail(colStrike, CodePos020, msgStrikeTooLarge, s)
	case d.significantScale() > maxPriceScale:
		p.fail(colStrike, CodePos020, msgStrikeScale, s)
	default:
		return d, true
	}
	return Decimal{}, false
}

// checkExpiration validates an option's expiration date.
func (p *positionsParser) checkExpiration(s string) (time.Time, bool) {
	if s == "" {
		p.fail(colExpiration, CodePos021, msgExpirationRequired, s)
		return time.Time{}, false
	}
	d, ok := parseCSVDate(s)
	if !ok {
		p.fail(colExpiration, CodePos021, msgExpirationFormat, s)
		return time.Time{}, false
	}
	return d, true
}

// checkOptionType validates an option's type. A blank type is taken from a
// CALL or PUT subtype.
func (p *positionsParser) checkOptionType(s, subtype string) (OptionType, bool) {
	var fromSubtype OptionType
	switch subtype {
	case "CALL":
		fromSubtype = OptionCall
	case "PUT":
		fromSubtype = OptionPut
	}
	var t OptionType
	switch {
	case s == "":
		if fromSubtype != "" {
			return fromSubtype, true
		}
		p.fail(colOptionType, CodePos022, msgOptionTypeRequired, s)
		return "", false
	case strings.EqualFold(s, "CALL"):
		t = OptionCall
	case strings.EqualFold(s, "PUT"):
		t = OptionPut
	default:
		p.fail(colOptionType, CodePos022, codeMessages[CodePos022], s)
		return "", false
	}
	if fromSubtype != "" && t != fromSubtype {
		p.fail(colOptionType, CodePos022, msgOptionTypeMismatch, s)
		return "", false
	}
	return t, true
}
