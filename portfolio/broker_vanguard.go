package portfolio

import (
	"strings"
)

// readVanguard reads a Vanguard download: a holdings block (Account Number,
// Investment Name, Symbol, Shares, Share Price, Total Value) and, after
// blank lines, a transactions block (Account Number, Trade Date, …,
// Transaction Type, …, Net Amount). Holdings become positions; the
// transactions' funds received and withdrawn become capital flows.
func readVanguard(recs []exportRecord, c *conversion) error {
	var holdings, trades columnSet
	var holdingsHeader *exportRecord
	sawHolding := false
	for i := range recs {
		r := &recs[i]
		h := headerSet(r.fields)
		switch {
		case r.blank():
			c.skip(r, "blank row")
			continue
		case h.has("account number") && h.has("trade date"):
			trades, holdings = h, nil
			continue
		case h.has("account number") && h.has("investment name") && !h.has("trade date"):
			holdings, trades, holdingsHeader = h, nil, r
			if !h.has("shares") {
				return missingColumns(FormatVanguard, r.line, r.fields, "Shares")
			}
			continue
		}
		switch {
		case holdings != nil:
			sawHolding = true
			c.vanguardHolding(r, holdings, holdingsHeader)
		case trades != nil:
			c.vanguardTrade(r, trades)
		default:
			c.skip(r, "before the holdings header")
		}
	}
	if !sawHolding {
		return csvFileError(CodeCSV003, "vanguard download has no holdings rows (is the file truncated?)")
	}
	return nil
}

// vanguardHolding converts one row of the holdings block.
func (c *conversion) vanguardHolding(r *exportRecord, h columnSet, header *exportRecord) {
	get := func(name string) string { return r.field(h.index(name)) }
	sym := get("symbol")
	if len(r.fields) < len(header.fields)-1 {
		c.fail(r.line, "", sym, r.text(), "Row has "+itoa(len(r.fields))+" fields, the header "+itoa(len(header.fields))+": the file looks truncated")
		return
	}
	value := c.money(r, "Total Value", sym, get("total value"))
	if strings.Contains(strings.ToUpper(get("investment name")), "MONEY MARKET") {
		if value == "" {
			c.skip(r, "money-market row without a value")
			return
		}
		c.rows = append(c.rows, exportRow{line: r.line, symbol: strings.ToUpper(sym), quantity: value, entryPrice: "1",
			class: string(ClassPublic), subtype: subtypeCash})
		return
	}
	if strings.ContainsAny(sym, " /") {
		c.fail(r.line, "Symbol", sym, sym, "Symbol "+quote(sym)+" is not a ticker: options and other contracts in Vanguard downloads cannot be read")
		return
	}
	c.rows = append(c.rows, exportRow{line: r.line, symbol: strings.ToUpper(sym), marketValue: value,
		quantity: c.money(r, "Shares", sym, get("shares")),
		price:    c.money(r, "Share Price", sym, get("share price")),
	})
}

// vanguardTrade reads one row of the transactions block.
func (c *conversion) vanguardTrade(r *exportRecord, h columnSet) {
	get := func(name string) string { return r.field(h.index(name)) }
	kind := strings.ToLower(get("transaction type"))
	var sign string
	switch {
	case strings.Contains(kind, "funds received"):
		sign = ""
	case strings.Contains(kind, "funds withdrawn"), strings.Contains(kind, "withdrawal"):
		sign = "-"
	default:
		c.skip(r, "transaction "+quote(get("transaction type"))+": positions come from the holdings block")
		return
	}
	raw := get("net amount")
	if raw == "" {
		raw = get("principal amount")
	}
	amount := c.money(r, "Net Amount", "", raw)
	date, ok := exportDate(get("trade date"))
	if !ok {
		c.fail(r.line, "Trade Date", "", get("trade date"), "Trade Date "+quote(get("trade date"))+" is not a date")
		return
	}
	amount = strings.TrimPrefix(amount, "-")
	if amount != "" {
		amount = sign + amount
	}
	c.addFlow(r, date, amount, get("transaction description"))
}
