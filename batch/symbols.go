package batch

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sigmasight/backfill/portfolio"
)

// AssetType is the kind of instrument a symbol is, in the symbols table.
type AssetType string

// The asset types.
const (
	AssetStock      AssetType = "stock"
	AssetETF        AssetType = "etf"
	AssetMutualFund AssetType = "mutual_fund"
	AssetOption     AssetType = "option"
	AssetCash       AssetType = "cash"
	AssetPrivate    AssetType = "private"
	AssetOther      AssetType = "other"
)

// Sectors are the 11 GICS sectors, as the symbols table names them, in the
// order the sector_exposures view lists them.
var Sectors = []string{
	"Energy", "Materials", "Industrials", "Consumer Discretionary", "Consumer Staples",
	"Health Care", "Financials", "Information Technology", "Communication Services",
	"Utilities", "Real Estate",
}

// Sector exposure buckets besides the GICS sectors: ETFs and funds whose
// reference row names no sector, and holdings without a sector.
const (
	SectorETF          = "ETF"
	SectorUnclassified = "Unclassified"
)

// sectorBuckets are the sector_exposures view's sectors, in its order.
var sectorBuckets = append(append([]string{}, Sectors...), SectorETF, SectorUnclassified)

const (
	bucketETF          = 11
	bucketUnclassified = 12
	numSectorBuckets   = 13
)

// sectorAliases maps a normalized name (lower case, single spaces, "&"
// read as "and") to its GICS sector: the names themselves and the names
// common data vendors use.
var sectorAliases = func() map[string]string {
	m := map[string]string{}
	for _, s := range Sectors {
		m[normalizeName(s)] = s
	}
	for alias, s := range map[string]string{
		"technology":                  "Information Technology",
		"information tech":            "Information Technology",
		"tech":                        "Information Technology",
		"healthcare":                  "Health Care",
		"financial services":          "Financials",
		"financial":                   "Financials",
		"consumer cyclical":           "Consumer Discretionary",
		"consumer defensive":          "Consumer Staples",
		"consumer non-cyclical":       "Consumer Staples",
		"basic materials":             "Materials",
		"industrial":                  "Industrials",
		"communication":               "Communication Services",
		"communications":              "Communication Services",
		"telecommunication services":  "Communication Services",
		"telecommunications services": "Communication Services",
		"telecommunications":          "Communication Services",
		"utility":                     "Utilities",
		"realestate":                  "Real Estate",
	} {
		m[alias] = s
	}
	return m
}()

// assetAliases maps a normalized asset type to its AssetType.
var assetAliases = map[string]AssetType{
	"stock": AssetStock, "equity": AssetStock, "common stock": AssetStock, "cs": AssetStock,
	"etf": AssetETF, "exchange traded fund": AssetETF,
	"mutual fund": AssetMutualFund, "mutual_fund": AssetMutualFund, "fund": AssetMutualFund,
	"option": AssetOption, "options": AssetOption,
	"cash":    AssetCash,
	"private": AssetPrivate,
	"other":   AssetOther,
}

// normalizeName lower-cases s, reads '_' as a space and "&" as "and", and
// collapses whitespace.
func normalizeName(s string) string {
	s = strings.ToLower(strings.ReplaceAll(s, "&", " and "))
	s = strings.ReplaceAll(s, "_", " ")
	return strings.Join(strings.Fields(s), " ")
}

// ParseSector returns the GICS sector that name denotes, matched
// case-insensitively, with the aliases data vendors use ("Technology",
// "Healthcare", "Financial Services", "Consumer Cyclical", "Consumer
// Defensive", "Basic Materials", "Telecommunication Services", …).
func ParseSector(name string) (string, error) {
	if s, ok := sectorAliases[normalizeName(name)]; ok {
		return s, nil
	}
	return "", fmt.Errorf("sector %q is not a GICS sector: use one of %s (or a common alias such as Technology, Healthcare, Financial Services, Consumer Cyclical, Consumer Defensive, Basic Materials)",
		name, strings.Join(Sectors, ", "))
}

// ParseAssetType returns the asset type that name denotes, matched
// case-insensitively ("ETF", "Mutual Fund", "equity" for stock, …).
func ParseAssetType(name string) (AssetType, error) {
	if a, ok := assetAliases[normalizeName(name)]; ok {
		return a, nil
	}
	return "", fmt.Errorf("asset_type %q: use one of stock, etf, mutual_fund, option, cash, private, other", name)
}

// Symbol is a symbol's reference data: a row of the symbols table. Empty
// strings and nil pointers are unknown.
type Symbol struct {
	// Symbol is upper case, 1 to 100 characters from A-Z, 0-9, '.', '_'
	// and '-'.
	Symbol    string
	Name      string
	AssetType AssetType
	// Sector is one of Sectors, or "".
	Sector   string
	Industry string
	Country  string
	// Currency is an ISO 4217 code like USD.
	Currency string
	// MarketCap is in Currency units, ≥ 0.
	MarketCap *float64
	// Beta is the data provider's beta against its market index.
	Beta *float64
	// UpdatedAt is when the row was last written (read from the table).
	UpdatedAt time.Time
}

// SymbolSource supplies reference data to the engine, as PriceSource
// supplies prices: implement it to read a vendor's profiles directly.
// Implementations must be safe for concurrent use.
type SymbolSource interface {
	// Symbols returns the reference data of the requested symbols that
	// have any, keyed by the upper-case symbol. Unknown symbols are absent.
	Symbols(ctx context.Context, symbols []string) (map[string]Symbol, error)
}

// DBSymbolSource is the SymbolSource that reads the symbols table.
type DBSymbolSource struct {
	db portfolio.Querier
	// bySymbolsSQL reads the rows of $1 (upper-case symbols);
	// byPortfolioSQL those of some portfolios' positions and underlyings.
	bySymbolsSQL, byPortfolioSQL string
}

var _ SymbolSource = (*DBSymbolSource)(nil)

const symbolColumnsSQL = `symbol, coalesce(name, ''), coalesce(asset_type, ''), coalesce(sector, ''),
	coalesce(industry, ''), coalesce(country, ''), coalesce(currency, ''), market_cap::float8, provider_beta, updated_at`

// NewDBSymbolSource returns a SymbolSource reading the symbols table in
// schema (the zero Schema means portfolio.DefaultSchema) through db.
func NewDBSymbolSource(db portfolio.Querier, schema portfolio.Schema) *DBSymbolSource {
	return &DBSymbolSource{
		db:           db,
		bySymbolsSQL: schema.SQL(`SELECT ` + symbolColumnsSQL + ` FROM {schema}.symbols WHERE symbol = ANY($1::text[])`),
		byPortfolioSQL: schema.SQL(`SELECT ` + symbolColumnsSQL + ` FROM {schema}.symbols
			WHERE symbol IN (SELECT upper(symbol) FROM {schema}.positions WHERE portfolio_id = ANY($1::uuid[])
			                 UNION SELECT upper(underlying_symbol) FROM {schema}.positions
			                 WHERE portfolio_id = ANY($1::uuid[]) AND underlying_symbol IS NOT NULL)`),
	}
}

// Symbols implements SymbolSource.
func (s *DBSymbolSource) Symbols(ctx context.Context, symbols []string) (map[string]Symbol, error) {
	upper := make([]string, len(symbols))
	for i, sym := range symbols {
		upper[i] = strings.ToUpper(sym)
	}
	rows, err := s.db.Query(ctx, s.bySymbolsSQL, upper)
	if err != nil {
		return nil, fmt.Errorf("load symbols: %w", err)
	}
	out := map[string]Symbol{}
	if _, err := scanSymbols(rows, out); err != nil {
		return nil, fmt.Errorf("load symbols: %w", err)
	}
	return out, nil
}

// symbolRows is what scanSymbols reads: pgx.Rows.
type symbolRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// scanSymbols reads rows of symbolColumnsSQL into out, and returns the
// symbols in the rows' order.
func scanSymbols(rows symbolRows, out map[string]Symbol) ([]string, error) {
	defer rows.Close()
	var order []string
	for rows.Next() {
		var s Symbol
		var asset string
		if err := rows.Scan(&s.Symbol, &s.Name, &asset, &s.Sector, &s.Industry, &s.Country, &s.Currency,
			&s.MarketCap, &s.Beta, &s.UpdatedAt); err != nil {
			return nil, err
		}
		s.AssetType = AssetType(asset)
		out[s.Symbol] = s
		order = append(order, s.Symbol)
	}
	return order, rows.Err()
}

// ListSymbols returns every row of the symbols table, by symbol.
func ListSymbols(ctx context.Context, db portfolio.Querier, schema portfolio.Schema) ([]Symbol, error) {
	rows, err := db.Query(ctx, schema.SQL(`SELECT `+symbolColumnsSQL+` FROM {schema}.symbols ORDER BY symbol`))
	if err != nil {
		return nil, fmt.Errorf("list symbols: %w", err)
	}
	m := map[string]Symbol{}
	order, err := scanSymbols(rows, m)
	if err != nil {
		return nil, fmt.Errorf("list symbols: %w", err)
	}
	out := make([]Symbol, len(order))
	for i, sym := range order {
		out[i] = m[sym]
	}
	return out, nil
}
