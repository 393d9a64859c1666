package portfolio

// Code is an error code of a ValidationError or FieldError, such as
// "ERR_POS_005". Clients of the seed system branch on these strings, so a
// code's text never changes. A Code is also an error, so that
// errors.Is(err, CodePos005) finds a FieldError with that code anywhere in
// err's chain (FieldError.Unwrap returns its Code).
type Code string

// Error returns the code itself.
func (c Code) Error() string { return string(c) }

// Error codes of the seed system, kept so its clients can branch on them.
// Message returns the default message of each.
const (
	// CodeCSV001: the file is too large, or has more data rows than allowed.
	CodeCSV001 Code = "ERR_CSV_001"
	// CodeCSV002: the file is not CSV text (binary content or invalid UTF-8).
	CodeCSV002 Code = "ERR_CSV_002"
	// CodeCSV003: the file is empty or has no data rows.
	CodeCSV003 Code = "ERR_CSV_003"
	// CodeCSV004: required columns are missing from the header.
	CodeCSV004 Code = "ERR_CSV_004"
	// CodeCSV005: the header is invalid (duplicate or empty column names).
	CodeCSV005 Code = "ERR_CSV_005"
	// CodeCSV006: the CSV is malformed (quotes, delimiter, extra fields).
	CodeCSV006 Code = "ERR_CSV_006"

	// CodePos001: Symbol is required.
	CodePos001 Code = "ERR_POS_001"
	// CodePos002: Symbol is longer than 100 characters.
	CodePos002 Code = "ERR_POS_002"
	// CodePos003: Symbol has characters other than letters, digits, '.', '_', '-'.
	CodePos003 Code = "ERR_POS_003"
	// CodePos004: Quantity is required.
	CodePos004 Code = "ERR_POS_004"
	// CodePos005: Quantity is not a valid number, or too large.
	CodePos005 Code = "ERR_POS_005"
	// CodePos006: Quantity is zero.
	CodePos006 Code = "ERR_POS_006"
	// CodePos007: Quantity has more than 6 decimal places.
	CodePos007 Code = "ERR_POS_007"
	// CodePos008: Entry price is required.
	CodePos008 Code = "ERR_POS_008"
	// CodePos009: a price is not a valid number, or too large.
	CodePos009 Code = "ERR_POS_009"
	// CodePos010: a price is not positive.
	CodePos010 Code = "ERR_POS_010"
	// CodePos011: a price has more than 4 decimal places.
	CodePos011 Code = "ERR_POS_011"
	// CodePos012: Entry date is required.
	CodePos012 Code = "ERR_POS_012"
	// CodePos013: a date is not a valid YYYY-MM-DD date.
	CodePos013 Code = "ERR_POS_013"
	// CodePos014: a date is in the future.
	CodePos014 Code = "ERR_POS_014"
	// CodePos015: Entry date is more than 100 years ago.
	CodePos015 Code = "ERR_POS_015"
	// CodePos016: Investment class is not PUBLIC, OPTIONS or PRIVATE.
	CodePos016 Code = "ERR_POS_016"
	// CodePos017: Investment subtype is missing or not valid for the class.
	CodePos017 Code = "ERR_POS_017"
	// CodePos018: exit date before entry date, or exit date and price not
	// given together.
	CodePos018 Code = "ERR_POS_018"
	// CodePos019: option underlying symbol missing or invalid.
	CodePos019 Code = "ERR_POS_019"
	// CodePos020: option strike price missing or invalid.
	CodePos020 Code = "ERR_POS_020"
	// CodePos021: option expiration date missing or invalid.
	CodePos021 Code = "ERR_POS_021"
	// CodePos022: option type missing or not CALL/PUT.
	CodePos022 Code = "ERR_POS_022"
	// CodePos023: duplicate position (same symbol or contract, same entry date).
	CodePos023 Code = "ERR_POS_023"

	// CodePort001: the owner already has a portfolio with this account name.
	CodePort001 Code = "ERR_PORT_001"
	// CodePort002: portfolio name is required.
	CodePort002 Code = "ERR_PORT_002"
	// CodePort003: portfolio name is longer than 255 characters.
	CodePort003 Code = "ERR_PORT_003"
	// CodePort004: equity balance is required.
	CodePort004 Code = "ERR_PORT_004"
	// CodePort005: equity balance is not a positive number.
	CodePort005 Code = "ERR_PORT_005"
	// CodePort006: equity balance is unreasonably large (> 1e12).
	CodePort006 Code = "ERR_PORT_006"
	// CodePort007: the positions CSV file is required.
	CodePort007 Code = "ERR_PORT_007"
	// CodePort008: the positions CSV has invalid rows.
	CodePort008 Code = "ERR_PORT_008"
	// CodePort009: account type is not one of the supported types.
	CodePort009 Code = "ERR_PORT_009"
	// CodePort010: account name is longer than 100 characters.
	CodePort010 Code = "ERR_PORT_010"
	// CodePort011: account name is required.
	CodePort011 Code = "ERR_PORT_011"

	// CodeCSVValidation is the top-level code of a ValidationError whose
	// Errors are row errors.
	CodeCSVValidation = CodePort008
)

// Codes this library adds to the seed system's set.
const (
	// CodeOwner001: the owner id is missing or not usable.
	CodeOwner001 Code = "ERR_OWNER_001"
	// CodePort012: the description is too long or not text.
	CodePort012 Code = "ERR_PORT_012"

	// CodeFlow001: the flow amount is missing, not a number, zero, too
	// precise or too large.
	CodeFlow001 Code = "ERR_FLOW_001"
	// CodeFlow002: the flow date is missing or before the portfolio's
	// inception.
	CodeFlow002 Code = "ERR_FLOW_002"

	// CodeFormat001: the file's layout is not one of Formats, or an unknown
	// format was asked for.
	CodeFormat001 Code = "ERR_FORMAT_001"
	// CodeFormat002: a row of a broker export cannot be converted (a non-USD
	// amount or currency, an option symbol that cannot be read, a sale of
	// more than was bought, …).
	CodeFormat002 Code = "ERR_FORMAT_002"
)

// codeMessages holds the default message of every code.
var codeMessages = map[Code]string{
	CodeCSV001: "File too large (maximum 10 MiB)",
	CodeCSV002: "File is not a CSV text file (binary content or invalid UTF-8); save it as CSV UTF-8",
	CodeCSV003: "CSV file has no data rows",
	CodeCSV004: "CSV file is missing required columns",
	CodeCSV005: "CSV header is invalid (duplicate or empty column names)",
	CodeCSV006: "CSV file is malformed (check quotes and use commas as the delimiter)",

	CodePos001: "Symbol is required",
	CodePos002: "Symbol must be at most 100 characters",
	CodePos003: "Symbol contains invalid characters (allowed: letters, digits, '.', '_' and '-')",
	CodePos004: "Quantity is required",
	CodePos005: "Quantity must be a valid number",
	CodePos006: "Quantity cannot be zero",
	CodePos007: "Quantity has too many decimal places (max 6)",
	CodePos008: "Entry price is required",
	CodePos009: "Entry price must be a valid number",
	CodePos010: "Entry price must be positive",
	CodePos011: "Entry price has too many decimal places (max 4)",
	CodePos012: "Entry date is required",
	CodePos013: "Date must be a valid date in YYYY-MM-DD format",
	CodePos014: "Entry date cannot be in the future",
	CodePos015: "Entry date cannot be more than 100 years in the past",
	CodePos016: "Investment class must be PUBLIC, OPTIONS or PRIVATE",
	CodePos017: "Investment subtype is not valid for the investment class",
	CodePos018: "Exit date cannot be before the entry date",
	CodePos019: "Underlying symbol is required for options (letters, digits, '.', '_', '-'; max 100 characters)",
	CodePos020: "Strike price is required for options and must be a positive number with at most 4 decimal places",
	CodePos021: "Expiration date is required for options (YYYY-MM-DD)",
	CodePos022: "Option type must be CALL or PUT",
	CodePos023: "Duplicate position: same symbol and entry date as an earlier row",

	CodePort001:  "An account with this name already exists for this owner",
	CodePort002:  "Portfolio name is required",
	CodePort003:  "Portfolio name must be at most 255 characters",
	CodePort004:  "Equity balance is required",
	CodePort005:  "Equity balance must be a positive number",
	CodePort006:  "Equity balance is unreasonably large (maximum 1,000,000,000,000)",
	CodePort007:  "CSV file is required",
	CodePort008:  "CSV validation failed",
	CodePort009:  "Invalid account type (must be one of taxable, ira, roth_ira, 401k, 403b, 529, hsa, trust, other)",
	CodePort010:  "Account name must be at most 100 characters",
	CodePort011:  "Account name is required",
	CodePort012:  "Description must be at most 2000 characters of text",
	CodeOwner001: "Owner id is required: 1 to 255 characters of text",
	CodeFlow001:  "Flow amount must be a non-zero number with at most 4 decimal places and at most 1,000,000,000,000 in magnitude",
	CodeFlow002:  "Flow date is required and may not be before the portfolio's inception",
}

// Message returns the default message for a code, or the code itself when it
// is not one of the codes defined here.
func Message(code Code) string {
	if m, ok := codeMessages[code]; ok {
		return m
	}
	return string(code)
}
