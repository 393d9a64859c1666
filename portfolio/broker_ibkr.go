package portfolio

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ibkrOption is an IBKR option symbol: "SPY 17JAN25 560 P".
var ibkrOption = &optionForm{
	re:   regexp.MustCompile(`^([A-Za-z][A-Za-z.]{0,9}) (\d{2}[A-Za-z]{3}\d{2}) (\d+(?:\.\d+)?) ([CP])$`),
	root: 1, expiry: 2, strike: 3, callPut: 4, call: "C",
	date: func(s string) (time.Time, bool) {
		t, err := time.Parse("02Jan06", s[:2]+strings.ToUpper(s[2:3])+strings.ToLower(s[3:5])+s[5:])
		return t, err == nil
	},
	form: "IBKR's form UNDERLYING DDMMMYY STRIKE C|P (e.g. SPY 17JAN25 560 P)",
}

// readIBKR reads an Interactive Brokers activity statement: every row starts
// with its section and its kind (Header, Data, Total, SubTotal, Notes); a
// Header row names the section's columns for the rows after it. Open
// Positions Data rows become positions (Summary rows; Lot rows detail them),
// Deposits & Withdrawals Data rows capital flows, and the Statement
// section's Period end is the "as of" date.
func readIBKR(recs []exportRecord, c *conversion) error {
	headers := map[string]columnSet{}
	headerLine := map[string]*exportRecord{}
	sawPositions := false
	for i := range recs {
		r := &recs[i]
		section, kind := r.field(0), r.field(1)
		if r.blank() {
			c.skip(r, "blank row")
			continue
		}
		if kind == "Header" {
			headers[section] = headerSet(r.fields[2:])
			headerLine[section] = r
			continue
		}
		h := headers[section]
		get := func(name string) string { return r.sectionField(h, name) }
		switch {
		case kind != "Data":
			c.skip(r, section+" "+kind+" row")
		case h == nil:
			c.skip(r, "section "+quote(section)+" without a header row")
		case section == "Statement":
			if get("field name") == "Period" {
				v := get("field value")
				if k := strings.LastIndex(v, " - "); k >= 0 {
					v = v[k+3:]
				}
				if t, err := time.Parse("January 2, 2006", strings.TrimSpace(v)); err == nil {
					c.asOf = t
				}
			}
			c.skip(r, "statement information")
		case section == "Open Positions":
			sawPositions = true
			if err := c.ibkrPosition(r, h, headerLine[section]); err != nil {
				return err
			}
		case section == "Deposits & Withdrawals":
			c.ibkrFlow(r, get)
		default:
			c.skip(r, "section "+quote(section)+" is not read")
		}
	}
	if !sawPositions {
		msg := "ibkr statement has no Open Positions Data rows (is the file truncated, or the section left out of the statement?)"
		return csvFileError(CodeCSV003, msg)
	}
	return nil
}

// sectionField returns the field of an IBKR row under the section
// header's column name: the first two fields are section and kind.
func (r *exportRecord) sectionField(h columnSet, name string) string {
	if i := h.index(name); i >= 0 {
		return r.field(i + 2)
	}
	return ""
}

// ibkrPosition converts one Open Positions Data row.
func (c *conversion) ibkrPosition(r *exportRecord, h columnSet, header *exportRecord) error {
	idx := func(name string) int {
		if i := h.index(name); i >= 0 {
			return i + 2
		}
		return -1
	}
	iQty := idx("quantity")
	if iQty < 0 {
		return missingColumns(FormatIBKR, header.line, header.fields, "Quantity")
	}
	if d := r.field(idx("datadiscriminator")); d != "" && !strings.EqualFold(d, "Summary") {
		c.skip(r, "Open Positions "+d+" row (the Summary row holds the position)")
		return nil
	}
	sym := r.field(idx("symbol"))
	if cur := r.field(idx("currency")); !strings.EqualFold(cur, "USD") {
		c.fail(r.line, "Currency", sym, cur, "Position in "+quote(cur)+": only USD positions are supported (no currency conversion yet)")
		return nil
	}
	mult := 1
	if m := r.field(idx("mult")); m != "" {
		n, err := strconv.Atoi(strings.ReplaceAll(m, ",", ""))
		if err != nil || n < 1 {
			c.fail(r.line, "Mult", sym, m, "Mult "+quote(m)+" is not a positive whole number")
			return nil
		}
		mult = n
	}
	row := exportRow{line: r.line, symbol: strings.ToUpper(sym), multiplier: mult,
		quantity:    c.money(r, "Quantity", sym, r.field(iQty)),
		price:       c.money(r, "Close Price", sym, r.field(idx("close price"))),
		marketValue: c.money(r, "Value", sym, r.field(idx("value"))),
		costBasis:   c.money(r, "Cost Basis", sym, r.field(idx("cost basis"))),
	}
	if strings.Contains(strings.ToLower(r.field(idx("asset category"))), "option") || strings.Contains(sym, " ") {
		if !c.readOption(&row, r, "Symbol", sym, sym, ibkrOption) {
			return nil
		}
		if mult != optionMultiplier {
			c.fail(r.line, "Mult", sym, strconv.Itoa(mult), "Option with multiplier "+strconv.Itoa(mult)+": only 100 is supported")
			return nil
		}
	} else if mult != 1 {
		c.fail(r.line, "Mult", sym, strconv.Itoa(mult), "Position with multiplier "+strconv.Itoa(mult)+" (a future?): only stocks, funds and options are supported")
		return nil
	}
	c.rows = append(c.rows, row)
	return nil
}

// ibkrFlow converts one Deposits & Withdrawals Data row.
func (c *conversion) ibkrFlow(r *exportRecord, get func(string) string) {
	cur := get("currency")
	if strings.HasPrefix(cur, "Total") {
		c.skip(r, "deposits total")
		return
	}
	if !strings.EqualFold(cur, "USD") {
		c.fail(r.line, "Currency", "", cur, "Deposit or withdrawal in "+quote(cur)+": only USD is supported (no currency conversion yet)")
		return
	}
	amount := c.money(r, "Amount", "", get("amount"))
	date, ok := exportDate(get("settle date"))
	if !ok {
		c.fail(r.line, "Settle Date", "", get("settle date"), "Settle Date "+quote(get("settle date"))+" is not a date")
		return
	}
	c.addFlow(r, date, amount, get("description"))
}

// addFlow records a capital flow read from row r.
func (c *conversion) addFlow(r *exportRecord, date time.Time, amount, description string) {
	d, ok := parseDecimal(amount)
	switch {
	case amount == "" || ok && d.IsZero():
		c.skip(r, "capital flow without an amount")
		return
	case !ok || d.Scale() > 4 || d.IntDigits() > 13:
		c.errs = append(c.errs, FieldError{Line: r.line, Field: "Amount", Code: CodeFlow001, Value: truncateValue(amount),
			Message: "Flow amount must be a non-zero number with at most 4 decimal places and 13 digits"})
		return
	case date.After(c.now):
		c.errs = append(c.errs, FieldError{Line: r.line, Field: "Date", Code: CodeFlow002, Value: date.Format(time.DateOnly),
			Message: "Flow date " + date.Format(time.DateOnly) + " is in the future"})
		return
	}
	c.flows = append(c.flows, ImportedFlow{Line: r.line, CapitalFlow: CapitalFlow{Date: date, Amount: amount, Description: truncate(description)}})
}
