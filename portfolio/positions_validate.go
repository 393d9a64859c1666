package portfolio

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// positionKey identifies a position for duplicate detection.
type positionKey struct {
	symbol string // upper-case symbol, or underlying for options
	strike string // options: strike without trailing zeros
	expiry int32  // options: expiration, days since 1970-01-01
	entry  int32  // entry date, days since 1970-01-01
	kind   uint8  // 0 for non-options, 1 for a call, 2 for a put
}

// csvRow is one data row of a positions CSV under validation: its trimmed
// values, and what the checks derived from them so far.
type csvRow struct {
	v [numColumns]string

	qty     Decimal
	price   Decimal
	entry   time.Time
	entryOK bool

	class      InvestmentClass
	classOK    bool
	subtype    string
	isCash     bool
	cashSymbol bool // the symbol starts with CASH_
	optionCols bool // an option column is given
	occ        bool // the symbol is an OCC option symbol

	isOption   bool
	underlying string
	strike     Decimal
	expiry     time.Time
	optType    OptionType
	contractOK bool // every option field is valid

	symbol   string // the position's symbol, given or derived
	symbolOK bool

	exitDate   time.Time
	exitDateOK bool
	exitPrice  Decimal
}

// validateRow validates the current record and appends a Position or errors.
func (p *positionsParser) validateRow() {
	var r csvRow
	for c, i := range p.idx {
		if i >= 0 && i < len(p.fields) {
			r.v[c] = strings.TrimSpace(p.fields[i])
		}
	}
	first := len(p.errs)
	p.repairTemplateExit(&r)
	if col, val := p.cr.Extra(); col > 0 {
		msg := "Row has a value in column " + strconv.Itoa(col) + " but the header names only " + strconv.Itoa(p.width) + " columns"
		p.fail(noColumn, CodeCSV006, msg, val)
	}
	r.qty, _ = p.checkQuantity(r.v[colQuantity])
	r.price, _ = p.checkPrice(colEntryPrice, r.v[colEntryPrice], &entryPriceMessages)
	r.entry, r.entryOK = p.checkEntryDate(r.v[colEntryDate])
	p.checkClass(&r)
	p.checkSubtype(&r)
	p.checkContract(&r)
	p.checkSymbol(&r)
	p.checkExit(&r)
	p.checkDuplicate(&r)

	if len(p.errs) > first {
		s := strings.Clone(truncateValue(r.symbol))
		for i := first; i < len(p.errs); i++ {
			p.errs[i].Symbol = s
		}
		return
	}
	if len(p.errs) > 0 {
		// Positions are not returned once a row failed; skip building them.
		return
	}
	pos := r.position(p.row, p.line)
	if p.cr.RecordLen() > 4096 {
		// The strings share the record's memory; do not let a position pin a
		// large record (an ignored column may hold megabytes).
		pos.detach()
	}
	p.add(&pos)
}

// repairTemplateExit reads the seed system's template as meant: its
// closed-position example has one comma too few, so that the exit date
// lands under Option Type and the exit price under Exit Date. As written
// such a row can never be valid (an option type is never a date).
func (p *positionsParser) repairTemplateExit(r *csvRow) {
	if !p.exitShift || len(p.fields) != p.idx[colExitPrice] || r.v[colOptionType] == "" {
		return
	}
	if _, ok := parseCSVDate(r.v[colOptionType]); !ok {
		return
	}
	if _, ok := parseDecimal(r.v[colExitDate]); ok {
		r.v[colOptionType], r.v[colExitDate], r.v[colExitPrice] = "", r.v[colOptionType], r.v[colExitDate]
	}
}

// checkClass validates the investment class, deriving it when blank.
func (p *positionsParser) checkClass(r *csvRow) {
	symbol, classRaw := r.v[colSymbol], r.v[colClass]
	r.class, r.classOK = parseInvestmentClass(classRaw)
	if !r.classOK {
		p.fail(colClass, CodePos016, codeMessages[CodePos016], classRaw)
	}
	r.subtype = canonicalSubtype(r.v[colSubtype])
	r.cashSymbol = len(symbol) >= 5 && strings.EqualFold(symbol[:5], "CASH_")
	r.optionCols = r.v[colUnderlying] != "" || r.v[colStrike] != "" || r.v[colExpiration] != "" || r.v[colOptionType] != ""
	r.occ = isOCCSymbol(symbol)
	if r.classOK && r.class == "" {
		switch {
		case r.cashSymbol:
			r.class = ClassPrivate
		case r.occ || r.optionCols:
			r.class = ClassOptions
		default:
			r.class = classOfSubtype(r.subtype)
		}
	}
	if r.classOK && r.class == ClassOptions && r.cashSymbol {
		p.fail(colClass, CodePos016, msgCashOptions, classRaw)
		r.classOK = false
	}
	r.isOption = r.classOK && r.class == ClassOptions
}

// checkSubtype validates the investment subtype against a valid class and
// decides whether the position is cash.
func (p *positionsParser) checkSubtype(r *csvRow) {
	if !r.classOK {
		return
	}
	subRaw := r.v[colSubtype]
	switch r.class {
	case ClassPublic, ClassPrivate:
		switch {
		case r.cashSymbol:
			if subRaw == "" {
				r.subtype = subtypeCash
			} else if r.subtype != subtypeCash {
				p.fail(colSubtype, CodePos017, msgSubtypeCash, subRaw)
			}
		case subRaw == "":
			if r.class == ClassPrivate {
				p.fail(colSubtype, CodePos017, msgSubtypeRequired, subRaw)
			}
		case r.class == ClassPublic && !slices.Contains(publicSubtypes, r.subtype):
			p.fail(colSubtype, CodePos017, msgSubtypePublic, subRaw)
		case r.class == ClassPrivate && !slices.Contains(privateSubtypes, r.subtype):
			p.fail(colSubtype, CodePos017, msgSubtypePrivate, subRaw)
		}
		r.isCash = r.subtype == subtypeCash
	case ClassOptions:
		if subRaw != "" && !slices.Contains(optionSubtypes, r.subtype) {
			p.fail(colSubtype, CodePos017, msgSubtypeOptions, subRaw)
		}
	}
}

// checkContract validates an option's contract fields, decoded from an OCC
// symbol when all of them are blank.
func (p *positionsParser) checkContract(r *csvRow) {
	if !r.isOption {
		return
	}
	undRaw, strikeRaw, expRaw, typeRaw := r.v[colUnderlying], r.v[colStrike], r.v[colExpiration], r.v[colOptionType]
	if r.occ && !r.optionCols {
		undRaw, strikeRaw, expRaw, typeRaw = decodeOCCSymbol(r.v[colSymbol])
	}
	var undOK, strikeOK, expOK, typeOK bool
	r.underlying, undOK = p.checkUnderlying(undRaw)
	r.strike, strikeOK = p.checkStrike(strikeRaw)
	r.expiry, expOK = p.checkExpiration(expRaw)
	r.optType, typeOK = p.checkOptionType(typeRaw, r.subtype)
	if expOK && r.entryOK && r.expiry.Before(r.entry) {
		p.fail(colExpiration, CodePos021, msgExpirationBefore, expRaw)
		expOK = false
	}
	r.contractOK = undOK && strikeOK && expOK && typeOK
}

// checkSymbol validates the symbol, or derives one from a valid contract
// when it is blank.
func (p *positionsParser) checkSymbol(r *csvRow) {
	symbol := r.v[colSymbol]
	r.symbol = symbol
	switch {
	case symbol == "":
		if r.isOption {
			if r.contractOK {
				r.symbol = deriveOptionSymbol(r.underlying, r.strike, r.expiry, r.optType)
				if len(r.symbol) > maxSymbolChars {
					p.fail(colUnderlying, CodePos019, msgUnderlyingDerived, r.underlying)
					r.contractOK = false
				}
			}
		} else if r.classOK || !r.optionCols {
			p.fail(colSymbol, CodePos001, codeMessages[CodePos001], symbol)
		}
	case len(symbol) > maxSymbolChars && utf8.RuneCountInString(symbol) > maxSymbolChars:
		p.fail(colSymbol, CodePos002, codeMessages[CodePos002], symbol)
	case !isSymbolText(symbol):
		p.fail(colSymbol, CodePos003, codeMessages[CodePos003], symbol)
	default:
		r.symbolOK = true
	}
}

// checkExit validates the exit date and price, which come together or not
// at all.
func (p *positionsParser) checkExit(r *csvRow) {
	exitDateRaw, exitPriceRaw := r.v[colExitDate], r.v[colExitPrice]
	if exitDateRaw != "" {
		d, ok := parseCSVDate(exitDateRaw)
		switch {
		case !ok:
			p.fail(colExitDate, CodePos013, msgExitDateFormat, exitDateRaw)
		case d.After(p.today):
			p.fail(colExitDate, CodePos014, msgExitDateFuture, exitDateRaw)
		case r.entryOK && d.Before(r.entry):
			p.fail(colExitDate, CodePos018, codeMessages[CodePos018], exitDateRaw)
		default:
			r.exitDate, r.exitDateOK = d, true
		}
	}
	if exitPriceRaw != "" {
		r.exitPrice, _ = p.checkPrice(colExitPrice, exitPriceRaw, &exitPriceMessages)
	}
	switch {
	case exitDateRaw != "" && exitPriceRaw == "":
		p.fail(colExitPrice, CodePos018, msgExitPriceNeeded, "")
	case exitDateRaw == "" && exitPriceRaw != "":
		p.fail(colExitDate, CodePos018, msgExitDateNeeded, "")
	}
}

// checkDuplicate reports a row whose position an earlier row already has:
// the first row with a key keeps it; later ones are errors.
func (p *positionsParser) checkDuplicate(r *csvRow) {
	if !r.entryOK || !(r.contractOK || (!r.isOption && r.symbolOK)) {
		return
	}
	key := positionKey{entry: epochDay(r.entry)}
	if r.isOption {
		key.symbol = upperASCII(r.underlying)
		key.strike = r.strike.trimmed()
		key.expiry = epochDay(r.expiry)
		key.kind = 1
		if r.optType == OptionPut {
			key.kind = 2
		}
	} else {
		key.symbol = upperASCII(r.v[colSymbol])
	}
	if prev, dup := p.seen[key]; dup {
		what := "symbol"
		if r.isOption {
			what = "option contract (underlying, type, strike, expiration)"
		}
		p.fail(colSymbol, CodePos023, "Duplicate position: same "+what+" and entry date as row "+strconv.Itoa(prev), r.symbol)
	} else {
		p.seen[key] = p.row
	}
}

// position builds the Position of a valid row. Symbols are upper-cased,
// so that aapl and AAPL are one symbol, as in market_prices.
func (r *csvRow) position(row, line int) Position {
	pos := Position{
		Row:        row,
		Line:       line,
		Symbol:     upperASCII(r.symbol),
		Quantity:   r.qty,
		EntryPrice: r.price,
		EntryDate:  r.entry,
		Class:      r.class,
		Subtype:    r.subtype,
		IsCash:     r.isCash,
		Multiplier: 1,
	}
	long := r.qty.Sign() > 0
	switch {
	case r.isOption:
		pos.Multiplier = optionMultiplier
		pos.Underlying = upperASCII(r.underlying)
		k := r.strike
		pos.Strike = &k
		e := r.expiry
		pos.Expiration = &e
		pos.OptionType = r.optType
		switch {
		case r.optType == OptionCall && long:
			pos.Type = PositionLongCall
		case r.optType == OptionCall:
			pos.Type = PositionShortCall
		case long:
			pos.Type = PositionLongPut
		default:
			pos.Type = PositionShortPut
		}
	case long:
		pos.Type = PositionLong
	default:
		pos.Type = PositionShort
	}
	if r.exitDateOK {
		d, x := r.exitDate, r.exitPrice
		pos.ExitDate = &d
		pos.ExitPrice = &x
	}
	return pos
}

// detach copies the strings of pos that may share memory with the input.
func (pos *Position) detach() {
	pos.Symbol = strings.Clone(pos.Symbol)
	pos.Underlying = strings.Clone(pos.Underlying)
	pos.Quantity.s = strings.Clone(pos.Quantity.s)
	pos.EntryPrice.s = strings.Clone(pos.EntryPrice.s)
	if pos.Strike != nil {
		pos.Strike.s = strings.Clone(pos.Strike.s)
	}
	if pos.ExitPrice != nil {
		pos.ExitPrice.s = strings.Clone(pos.ExitPrice.s)
	}
}
