package portfolio

import (
	"regexp"
	"strings"
)

// schwabAsOf finds the date in "Positions for account … as of 11:52 AM ET,
// 2025/11/16" (newer) or "… as of 09:35 PM ET, 01/15/2024" (older).
var schwabAsOf = regexp.MustCompile(`as of .*?(\d{4}/\d{2}/\d{2}|\d{1,2}/\d{1,2}/\d{4})`)

// schwabOption is a Schwab option symbol: "AAPL 01/17/2025 260.00 C".
var schwabOption = &optionForm{
	re:   regexp.MustCompile(`^([A-Za-z][A-Za-z.]{0,9}) (\d{2}/\d{2}/\d{4}) (\d+(?:\.\d+)?) ([CP])$`),
	root: 1, expiry: 2, strike: 3, callPut: 4, call: "C", date: exportDate,
	form: "Schwab's form UNDERLYING MM/DD/YYYY STRIKE C|P (e.g. AAPL 01/17/2025 260.00 C)",
}

// readSchwab reads a Schwab positions export: an optional "Positions for
// account … as of …" preamble, a header with the older (Quantity, Market
// Value) or newer (Qty (Quantity), Mkt Val (Market Value)) names, one row
// per holding, "Cash & Cash Investments", and "Positions Total" / "Account
// Total" rows.
func readSchwab(recs []exportRecord, c *conversion) error {
	hi := -1
	for i := range recs {
		r := &recs[i]
		if len(r.fields) == 1 && strings.HasPrefix(r.field(0), "Positions for account") {
			if m := schwabAsOf.FindStringSubmatch(r.field(0)); m != nil {
				if t, ok := exportDate(m[1]); ok {
					c.asOf = t
				}
			}
			c.skip(r, "preamble")
			continue
		}
		if strings.EqualFold(r.field(0), "Symbol") {
			hi = i
			break
		}
		c.skip(r, "before the header")
	}
	if hi < 0 {
		return missingColumns(FormatSchwab, 1, nil, "Symbol")
	}
	header := recs[hi]
	h := headerSet(header.fields)
	col := map[string]int{
		"Symbol":       h.index("symbol"),
		"Quantity":     h.index("qty (quantity)", "quantity"),
		"Price":        h.index("price"),
		"Market Value": h.index("mkt val (market value)", "market value"),
		"Cost Basis":   h.index("cost basis"),
	}
	secType := h.index("security type")
	if col["Quantity"] < 0 {
		return missingColumns(FormatSchwab, header.line, header.fields, "Quantity (or Qty (Quantity))")
	}
	if col["Market Value"] < 0 {
		return missingColumns(FormatSchwab, header.line, header.fields, "Market Value (or Mkt Val (Market Value))")
	}
	sawTotal := false
	for i := hi + 1; i < len(recs); i++ {
		r := &recs[i]
		sym := r.field(col["Symbol"])
		switch {
		case r.blank():
			c.skip(r, "blank row")
			continue
		case strings.EqualFold(sym, "Account Total") || strings.EqualFold(sym, "Positions Total"):
			sawTotal = true
			c.skip(r, sym+" row")
			continue
		case len(r.fields) < col["Market Value"]+1 || len(r.fields) < col["Quantity"]+1:
			c.fail(r.line, "", sym, r.text(), "Row has "+itoa(len(r.fields))+" fields, the header "+itoa(len(header.fields))+": the file looks truncated")
			continue
		}
		mv := c.money(r, "Market Value", sym, r.field(col["Market Value"]))
		if strings.EqualFold(sym, "Cash & Cash Investments") || strings.EqualFold(r.field(secType), "Cash and Money Market") && strings.Contains(sym, " ") {
			if mv == "" {
				c.skip(r, "cash row without a market value")
				continue
			}
			c.rows = append(c.rows, exportRow{line: r.line, symbol: "CASH_USD", quantity: mv, entryPrice: "1",
				class: string(ClassPublic), subtype: subtypeCash})
			continue
		}
		// Schwab writes share classes with a slash (BRK/B).
		row := exportRow{line: r.line, symbol: strings.ToUpper(strings.ReplaceAll(sym, "/", ".")), marketValue: mv,
			quantity:  c.money(r, "Quantity", sym, r.field(col["Quantity"])),
			price:     c.money(r, "Price", sym, r.field(col["Price"])),
			costBasis: c.money(r, "Cost Basis", sym, r.field(col["Cost Basis"])),
		}
		option := strings.Contains(sym, " ") || strings.EqualFold(r.field(secType), "Option")
		if option && !c.readOption(&row, r, "Symbol", sym, sym, schwabOption) {
			continue
		}
		c.rows = append(c.rows, row)
	}
	if !sawTotal {
		c.fail(recs[len(recs)-1].line, "", "", "", "The export ends without its \"Account Total\" row: the file looks truncated; download it again")
	}
	return nil
}
