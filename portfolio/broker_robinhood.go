package portfolio

import (
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"
)

// robinhoodOption is the contract in a Robinhood option trade's
// description: "AAPL 2/16/2024 Call $200.00" (after "Option Expiration for "
// on OEXP rows).
var robinhoodOption = &optionForm{
	re:   regexp.MustCompile(`([A-Za-z][A-Za-z.]{0,9}) (\d{1,2}/\d{1,2}/\d{4}) (Call|Put) \$([\d,]+(?:\.\d+)?)$`),
	root: 1, expiry: 2, callPut: 3, strike: 4, call: "Call", date: exportDate,
	form: "Robinhood's form UNDERLYING M/D/YYYY Call|Put $STRIKE (e.g. AAPL 2/16/2024 Call $200.00)",
}

// robinhoodLot is an open position rebuilt from trades: signed quantity and
// the cost of the shares still held (average cost).
type robinhoodLot struct {
	row    exportRow // symbol and option fields; line of the opening trade
	qty    *big.Rat
	cost   *big.Rat
	opened time.Time
}

// robinhoodTrade is one dated row of the report.
type robinhoodTrade struct {
	rec  *exportRecord
	date time.Time
}

// readRobinhood reads a Robinhood activity report and rebuilds the open
// positions: Buy/Sell for shares and BTO/STC (STO/BTC for written options)
// for contracts, at average cost; SPL adds the shares of a split; OEXP
// closes an expired contract; ACH deposits and withdrawals are capital
// flows. The report lists the newest activity first; it is replayed oldest
// first (rows of one day in reverse order of the file).
func readRobinhood(recs []exportRecord, c *conversion) error {
	if len(recs) == 0 {
		return missingColumns(FormatRobinhood, 1, nil, "Activity Date")
	}
	header := &recs[0]
	h := headerSet(header.fields)
	iDate, iInst, iDesc, iCode := h.index("activity date"), h.index("instrument"), h.index("description"), h.index("trans code")
	iQty, iPrice, iAmount := h.index("quantity"), h.index("price"), h.index("amount")
	if iQty < 0 {
		return missingColumns(FormatRobinhood, header.line, header.fields, "Quantity")
	}
	var trades []robinhoodTrade
	for i := 1; i < len(recs); i++ {
		r := &recs[i]
		raw := r.field(iDate)
		switch {
		case r.blank():
			c.skip(r, "blank row")
			continue
		case raw == "":
			c.skip(r, "disclaimer")
			continue
		case len(r.fields) < len(header.fields):
			c.fail(r.line, "", r.field(iInst), r.text(), "Row has "+itoa(len(r.fields))+" fields, the header "+itoa(len(header.fields))+": the file looks truncated")
			continue
		}
		d, ok := exportDate(raw)
		if !ok {
			c.fail(r.line, "Activity Date", r.field(iInst), raw, "Activity Date "+quote(raw)+" is not a date")
			continue
		}
		trades = append(trades, robinhoodTrade{rec: r, date: d})
	}
	if n := len(trades); n > 1 && trades[0].date.After(trades[n-1].date) || n > 1 && trades[0].date.Equal(trades[n-1].date) {
		slices.Reverse(trades)
	}
	slices.SortStableFunc(trades, func(a, b robinhoodTrade) int { return a.date.Compare(b.date) })

	lots := map[string]*robinhoodLot{}
	var order []string
	for _, t := range trades {
		r := t.rec
		code := strings.ToUpper(r.field(iCode))
		inst := strings.ToUpper(r.field(iInst))
		desc := r.field(iDesc)
		switch code {
		case "ACH":
			c.addFlow(r, t.date, c.money(r, "Amount", "", r.field(iAmount)), strings.Join(strings.Fields(desc), " "))
			continue
		case "BUY", "SELL", "SPL", "BTO", "STC", "STO", "BTC", "OEXP":
		default:
			c.skip(r, "activity "+quote(code)+" is not a trade, split or ACH transfer")
			continue
		}
		qtyText := c.money(r, "Quantity", inst, r.field(iQty))
		price := c.money(r, "Price", inst, r.field(iPrice))
		amount := c.money(r, "Amount", inst, r.field(iAmount))
		q, ok := ratOf(qtyText)
		if !ok || q.Sign() <= 0 {
			c.fail(r.line, "Quantity", inst, r.field(iQty), "Quantity "+quote(r.field(iQty))+" of a "+code+" must be a positive number")
			continue
		}
		row := exportRow{line: r.line, symbol: inst, multiplier: 1}
		option := code != "BUY" && code != "SELL" && code != "SPL"
		if option && !c.readOption(&row, r, "Description", inst, strings.Join(strings.Fields(desc), " "), robinhoodOption) {
			continue
		}
		key := row.symbol + "|" + row.underlying + "|" + row.strike + "|" + row.expiry + "|" + row.optType
		lot := lots[key]
		if lot == nil {
			lot = &robinhoodLot{row: row, qty: new(big.Rat), cost: new(big.Rat)}
			lots[key] = lot
			order = append(order, key)
		}
		value := new(big.Rat)
		if a, ok := ratOf(amount); ok {
			value.Abs(a)
		} else if p, ok := ratOf(price); ok {
			value.Mul(q, p)
			value.Mul(value, big.NewRat(int64(row.multiplier), 1))
		}
		dir := 1 // the side a trade opens
		switch code {
		case "STO", "BTC":
			dir = -1
		}
		switch code {
		case "BUY", "BTO", "STO":
			if lot.qty.Sign() == -dir {
				c.fail(r.line, "Trans Code", inst, code, code+" of "+qtyText+" while the opposite position is open: not supported")
				continue
			}
			if lot.qty.Sign() == 0 {
				lot.opened, lot.row.line, lot.cost = t.date, r.line, new(big.Rat)
			}
			lot.qty.Add(lot.qty, new(big.Rat).Mul(q, big.NewRat(int64(dir), 1)))
			lot.cost.Add(lot.cost, value)
		case "SPL":
			if lot.qty.Sign() <= 0 {
				c.fail(r.line, "Quantity", inst, qtyText, "Split of "+inst+" while no shares are held in this report: export the full history")
				continue
			}
			lot.qty.Add(lot.qty, q)
		default: // SELL, STC, BTC, OEXP close
			held := new(big.Rat).Abs(lot.qty)
			if code == "OEXP" {
				dir = lot.qty.Sign()
			}
			if lot.qty.Sign() != dir || held.Cmp(q) < 0 {
				c.fail(r.line, "Quantity", inst, qtyText, code+" of "+qtyText+" "+inst+" but "+trimZeros(held.FloatString(6))+
					" held at that point of the report: it starts after the position was opened; export the full history")
				continue
			}
			share := new(big.Rat).Quo(q, held)
			lot.cost.Sub(lot.cost, share.Mul(share, lot.cost))
			lot.qty.Sub(lot.qty, new(big.Rat).Mul(q, big.NewRat(int64(dir), 1)))
		}
	}
	for _, key := range order {
		lot := lots[key]
		if lot.qty.Sign() == 0 {
			continue
		}
		row := lot.row
		row.quantity = trimZeros(lot.qty.FloatString(6))
		row.date = lot.opened.Format(time.DateOnly)
		if lot.cost.Sign() > 0 {
			per := new(big.Rat).Quo(lot.cost, new(big.Rat).Abs(lot.qty))
			per.Quo(per, big.NewRat(int64(max(row.multiplier, 1)), 1))
			row.entryPrice = roundRat(per, 4)
		}
		c.rows = append(c.rows, row)
	}
	slices.SortStableFunc(c.rows, func(a, b exportRow) int { return a.line - b.line })
	return nil
}

// trimZeros drops trailing fractional zeros: "10.500000" → "10.5".
func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
