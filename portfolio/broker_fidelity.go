package portfolio

import (
	"regexp"
	"strings"
	"time"
)

// fidelityOption is a Fidelity option symbol: " -AAPL250117C250" (the
// leading space and dash are Fidelity's).
var fidelityOption = &optionForm{
	re:   regexp.MustCompile(`^-([A-Za-z]{1,6})(\d{6})([CP])(\d+(?:\.\d+)?)$`),
	root: 1, expiry: 2, callPut: 3, strike: 4, call: "C", date: parseYYMMDD,
	form: "Fidelity's form -UNDERLYINGyymmddC|PSTRIKE (e.g. -AAPL250117C250)",
}

// fidelityDownloaded finds the date of the footer's "Date downloaded
// Jan-15-2024 10:32 a.m ET" (or 01/15/2024).
var fidelityDownloaded = regexp.MustCompile(`Date downloaded\s+([A-Za-z]{3}-\d{1,2}-\d{4}|\d{1,2}/\d{1,2}/\d{4})`)

// readFidelity reads a Fidelity Portfolio_Positions_*.csv: a header, data
// rows one field longer than it (a trailing comma), money-market rows
// (SPAXX**), "Pending Activity", and a footer of disclaimers and "Date
// downloaded …".
func readFidelity(recs []exportRecord, c *conversion) error {
	hi := -1
	for i := range recs {
		if h := headerSet(recs[i].fields); h.has("symbol") && h.has("current value") {
			hi = i
			break
		}
		c.skip(&recs[i], "before the header")
	}
	if hi < 0 {
		return missingColumns(FormatFidelity, 1, nil, "Symbol")
	}
	header := recs[hi]
	h := headerSet(header.fields)
	iSym, iDesc, iQty := h.index("symbol"), h.index("description"), h.index("quantity")
	iPrice, iValue, iBasis := h.index("last price"), h.index("current value"), h.index("cost basis total")
	if iQty < 0 {
		return missingColumns(FormatFidelity, header.line, header.fields, "Quantity")
	}
	width := len(header.fields)
	footer := false
	for i := hi + 1; i < len(recs); i++ {
		r := &recs[i]
		sym := r.field(iSym)
		switch {
		case r.blank():
			c.skip(r, "blank row")
			continue
		case footer || len(r.fields) == 1 && strings.Contains(r.field(0), " "):
			// The footer's lines are sentences; a single word is a row cut
			// short, reported below.
			footer = true
			if m := fidelityDownloaded.FindStringSubmatch(r.field(0)); m != nil {
				if t, ok := exportDate(m[1]); ok {
					c.asOf = t
				}
			}
			c.skip(r, "footer")
			continue
		case strings.EqualFold(sym, "Pending Activity"):
			c.skip(r, "pending activity, not a holding")
			continue
		case len(r.fields) < width || len(r.fields) > width+1 || len(r.fields) == width+1 && r.field(width) != "":
			c.fail(r.line, "", sym, r.text(), "Row has "+itoa(len(r.fields))+" fields, the header "+itoa(width)+": the file looks truncated or edited")
			continue
		}
		value := c.money(r, "Current Value", sym, r.field(iValue))
		if strings.HasSuffix(sym, "**") || strings.Contains(strings.ToUpper(r.field(iDesc)), "MONEY MARKET") {
			if value == "" {
				c.skip(r, "money-market row without a value")
				continue
			}
			c.rows = append(c.rows, exportRow{line: r.line, symbol: strings.ToUpper(strings.TrimRight(sym, "*")),
				quantity: value, entryPrice: "1", class: string(ClassPublic), subtype: subtypeCash})
			continue
		}
		row := exportRow{line: r.line, symbol: strings.ToUpper(sym), marketValue: value,
			quantity:  c.money(r, "Quantity", sym, r.field(iQty)),
			price:     c.money(r, "Last Price", sym, r.field(iPrice)),
			costBasis: c.money(r, "Cost Basis Total", sym, r.field(iBasis)),
		}
		if strings.HasPrefix(sym, "-") && !c.readOption(&row, r, "Symbol", sym, sym, fidelityOption) {
			continue
		}
		c.rows = append(c.rows, row)
	}
	return nil
}

// parseYYMMDD reads an option symbol's expiration.
func parseYYMMDD(s string) (time.Time, bool) {
	t, err := time.Parse("060102", s)
	return t, err == nil
}
