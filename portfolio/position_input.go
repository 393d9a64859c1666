package portfolio

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// PositionInput is one position given as JSON instead of a CSV row: the
// positions file's columns as fields. Numbers may be JSON numbers or
// strings; they are validated exactly like the file's text.
type PositionInput struct {
	Symbol            string     `json:"symbol"`
	Quantity          NumberText `json:"quantity"`
	EntryPrice        NumberText `json:"entry_price"`
	EntryDate         string     `json:"entry_date"`
	InvestmentClass   string     `json:"investment_class,omitempty"`
	InvestmentSubtype string     `json:"investment_subtype,omitempty"`
	UnderlyingSymbol  string     `json:"underlying_symbol,omitempty"`
	StrikePrice       NumberText `json:"strike_price,omitempty"`
	ExpirationDate    string     `json:"expiration_date,omitempty"`
	OptionType        string     `json:"option_type,omitempty"`
	ExitDate          string     `json:"exit_date,omitempty"`
	ExitPrice         NumberText `json:"exit_price,omitempty"`
}

// NumberText is the text of a JSON number or string, as given ("" for
// null), so that "1e3" is refused like in a file instead of being read
// as a float.
type NumberText string

// UnmarshalJSON keeps the number's text.
func (n *NumberText) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	switch {
	case s == "null":
		*n = ""
	case strings.HasPrefix(s, `"`):
		u, err := strconv.Unquote(s)
		if err != nil {
			return err
		}
		*n = NumberText(u)
	default:
		*n = NumberText(s)
	}
	return nil
}

// PositionsCSV writes positions as a positions file in the seed format,
// the first at row 2.
func PositionsCSV(ps []PositionInput) []byte {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write([]string{"Symbol", "Quantity", "Entry Price Per Share", "Entry Date", "Investment Class", //nolint:errcheck // bytes.Buffer
		"Investment Subtype", "Underlying Symbol", "Strike Price", "Expiration Date", "Option Type", "Exit Date", "Exit Price Per Share"})
	for _, p := range ps {
		cw.Write([]string{p.Symbol, string(p.Quantity), string(p.EntryPrice), p.EntryDate, p.InvestmentClass, //nolint:errcheck // bytes.Buffer
			p.InvestmentSubtype, p.UnderlyingSymbol, string(p.StrikePrice), p.ExpirationDate, p.OptionType,
			p.ExitDate, string(p.ExitPrice)})
	}
	cw.Flush()
	return b.Bytes()
}

// AddPositionInputs is AddPositions for positions given as values: they
// are validated as the rows of a file (row numbers from 2, in order).
func (c *Client) AddPositionInputs(ctx context.Context, portfolioID uuid.UUID, ps []PositionInput) (*AddPositionsResult, error) {
	if len(ps) == 0 {
		return nil, &ValidationError{Code: CodeCSV003, Message: Message(CodeCSV003),
			Errors: []FieldError{{Field: "positions", Code: CodeCSV003, Message: "At least one position is required"}}}
	}
	return c.AddPositions(ctx, portfolioID, bytes.NewReader(PositionsCSV(ps)))
}
