package portfolio

import (
	"fmt"
	"strconv"
	"strings"
)

// csvColumn identifies one of the documented columns of the positions CSV.
type csvColumn int

// The documented columns, in the template's order.
const (
	colSymbol csvColumn = iota
	colQuantity
	colEntryPrice
	colEntryDate
	colClass
	colSubtype
	colUnderlying
	colStrike
	colExpiration
	colOptionType
	colExitDate
	colExitPrice
	numColumns

	noColumn csvColumn = -1
)

// columnNames are the documented column names; FieldError.Field uses them.
var columnNames = [numColumns]string{
	"Symbol",
	"Quantity",
	"Entry Price Per Share",
	"Entry Date",
	"Investment Class",
	"Investment Subtype",
	"Underlying Symbol",
	"Strike Price",
	"Expiration Date",
	"Option Type",
	"Exit Date",
	"Exit Price Per Share",
}

// normalizedColumnNames are columnNames as normalizeColumnName returns them.
var normalizedColumnNames = func() (n [numColumns]string) {
	for c, name := range columnNames {
		n[c] = normalizeColumnName(name)
	}
	return n
}()

// requiredColumns must be present in the header.
var requiredColumns = []csvColumn{colSymbol, colQuantity, colEntryPrice, colEntryDate}

// name returns the documented name of c, or "" for noColumn.
func (c csvColumn) name() string {
	if c < 0 || c >= numColumns {
		return ""
	}
	return columnNames[c]
}

// normalizeColumnName lower-cases a header name and collapses whitespace.
func normalizeColumnName(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// parseHeader maps the documented columns to field indexes.
func (p *positionsParser) parseHeader() error {
	line := p.cr.Line()
	if col, val := p.cr.Extra(); col > 0 {
		msg := "The header has more than " + strconv.Itoa(maxCSVColumns) + " columns"
		return csvFileError(CodeCSV005, "Invalid CSV header: "+msg, FieldError{Row: 1, Line: line, Code: CodeCSV005, Message: msg, Value: val})
	}
	if len(p.fields) < 2 {
		f := p.fields[0]
		switch {
		case strings.Contains(f, ";"):
			return p.malformed(line, "the header has a single column containing ';': use commas as the delimiter")
		case strings.Contains(f, "\t"):
			return p.malformed(line, "the header has a single column containing tabs: use commas as the delimiter")
		}
	}
	p.width = 0
	for i, f := range p.fields {
		if strings.TrimSpace(f) != "" {
			p.width = i + 1
		}
	}
	for c := range p.idx {
		p.idx[c] = -1
	}
	var problems []FieldError
	for i := 0; i < p.width; i++ {
		name := normalizeColumnName(p.fields[i])
		if name == "" {
			msg := "Column " + strconv.Itoa(i+1) + " of the header has no name"
			problems = append(problems, FieldError{Row: 1, Line: line, Code: CodeCSV005, Message: msg})
			continue
		}
		for c, want := range columnNames {
			if normalizedColumnNames[c] != name {
				continue
			}
			if prev := p.idx[c]; prev >= 0 {
				msg := fmt.Sprintf("Column %q appears twice in the header (columns %d and %d)", want, prev+1, i+1)
				problems = append(problems, FieldError{Row: 1, Line: line, Field: want, Code: CodeCSV005, Message: msg, Value: truncateValue(p.fields[i])})
			} else {
				p.idx[c] = i
			}
		}
	}
	if len(problems) > 0 {
		msg := "Invalid CSV header: " + problems[0].Message
		if len(problems) > 1 {
			msg += " (and " + strconv.Itoa(len(problems)-1) + " more)"
		}
		return csvFileError(CodeCSV005, msg, problems...)
	}
	p.exitShift = p.idx[colOptionType] >= 0 &&
		p.idx[colExitDate] == p.idx[colOptionType]+1 &&
		p.idx[colExitPrice] == p.idx[colExitDate]+1
	var missing []string
	for _, c := range requiredColumns {
		if p.idx[c] < 0 {
			missing = append(missing, c.name())
			problems = append(problems, FieldError{Row: 1, Line: line, Field: c.name(), Code: CodeCSV004, Message: "Missing required column: " + c.name()})
		}
	}
	if len(missing) > 0 {
		return csvFileError(CodeCSV004, "Missing required columns: "+strings.Join(missing, ", "), problems...)
	}
	return nil
}
