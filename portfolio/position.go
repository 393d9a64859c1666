package portfolio

import "time"

// InvestmentClass is the broad kind of a holding: PUBLIC, OPTIONS or PRIVATE.
type InvestmentClass string

// The investment classes.
const (
	// ClassPublic is a listed security: stock, ETF, mutual fund, bond or cash.
	ClassPublic InvestmentClass = "PUBLIC"
	// ClassOptions is a listed option contract (multiplier 100).
	ClassOptions InvestmentClass = "OPTIONS"
	// ClassPrivate is a private or alternative holding (private equity,
	// real estate, crypto, cash accounts, …).
	ClassPrivate InvestmentClass = "PRIVATE"
)

// PositionType is the direction of a position, with calls and puts
// distinguished for options.
type PositionType string

// The position types.
const (
	// PositionLong is a long non-option position (quantity > 0).
	PositionLong PositionType = "LONG"
	// PositionShort is a short non-option position (quantity < 0).
	PositionShort PositionType = "SHORT"
	// PositionLongCall is a long call (quantity > 0).
	PositionLongCall PositionType = "LC"
	// PositionLongPut is a long put (quantity > 0).
	PositionLongPut PositionType = "LP"
	// PositionShortCall is a short (written) call (quantity < 0).
	PositionShortCall PositionType = "SC"
	// PositionShortPut is a short (written) put (quantity < 0).
	PositionShortPut PositionType = "SP"
)

// OptionType says whether an option is a call or a put.
type OptionType string

// The option types.
const (
	// OptionCall is a call option.
	OptionCall OptionType = "CALL"
	// OptionPut is a put option.
	OptionPut OptionType = "PUT"
)

// Position is one validated position, as imported from a positions CSV row.
type Position struct {
	// Row is the seed system's row number: the header is row 1 and data rows
	// count from 2; comment and blank lines are not counted.
	Row int
	// Line is the physical 1-based line of the file where the row starts.
	Line int
	// Symbol is the symbol as given (trimmed), or for an option given only
	// by its contract fields, one derived from them: UNDERLYING_{C|P}{strike}_{YYYYMMDD}.
	Symbol string
	// Quantity is signed: negative means short.
	Quantity Decimal
	// EntryPrice is the price per share (per contract unit for options);
	// always > 0.
	EntryPrice Decimal
	// EntryDate is the entry date at UTC midnight.
	EntryDate time.Time
	// Class is the investment class, after auto-classification.
	Class InvestmentClass
	// Subtype is the upper-case investment subtype ("STOCK", "ETF", …), or ""
	// when none was given (options usually have none).
	Subtype string
	// Type is the position type, from the class, the option type and the
	// sign of Quantity.
	Type PositionType
	// IsCash is true for cash holdings: CASH_* symbols and subtype CASH.
	IsCash bool
	// Underlying is the option's underlying symbol, upper-cased; "" for
	// non-options.
	Underlying string
	// Strike is the option's strike price; nil for non-options.
	Strike *Decimal
	// Expiration is the option's expiration date at UTC midnight; nil for
	// non-options.
	Expiration *time.Time
	// OptionType is CALL or PUT for options, "" otherwise.
	OptionType OptionType
	// ExitDate is the exit date of a closed position at UTC midnight; nil
	// while the position is open.
	ExitDate *time.Time
	// ExitPrice is the exit price of a closed position; nil while open.
	ExitPrice *Decimal
	// Multiplier is 100 for options and 1 otherwise.
	Multiplier int
}
