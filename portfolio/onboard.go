package portfolio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Account types accepted by Onboard, as the seed system defined them.
var AccountTypes = []string{"taxable", "ira", "roth_ira", "401k", "403b", "529", "hsa", "trust", "other"}

// Limits on onboarding fields; each equals its database column's size.
const (
	MaxOwnerIDLength       = 255
	MaxPortfolioNameLength = 255
	MaxAccountNameLength   = 100
	MaxDescriptionLength   = 2000
)

// maxStartingEquity is the largest accepted starting equity (1e12).
var maxStartingEquity = MustDecimal("1000000000000")

// idNamespace roots the deterministic (uuid v5) ids.
var idNamespace = uuid.MustParse("6f1d8a52-3c1e-5b7a-9a43-2f0d3b9c7e15")

// OnboardRequest is one portfolio to create from a positions file.
type OnboardRequest struct {
	// OwnerID identifies the owner in the embedding application; opaque,
	// 1–255 characters.
	OwnerID string
	// PortfolioName is required, at most 255 characters.
	PortfolioName string
	// AccountName is required, at most 100 characters, unique per owner
	// among live portfolios.
	AccountName string
	// AccountType is one of AccountTypes (case-insensitive).
	AccountType string
	// StartingEquity is the equity balance as exact decimal text: greater
	// than 0, at most 1e12, at most 4 decimals.
	StartingEquity string
	// Description is optional, at most 2000 characters.
	Description string
	// CSV is the positions file: the seed's 12-column format (see
	// ParsePositions) or a broker export (see ReadPositions).
	CSV io.Reader
	// Format is the file's layout; "" or FormatAuto detects it.
	Format Format
	// EntryDate is the entry date of positions whose export states no trade
	// date; zero means the export's "as of" date (see ImportOptions).
	EntryDate time.Time
	// NoRequest skips recording an explicit backfill request (the old
	// API's auto_calculate=false). The reconciler still brings the new
	// portfolio up to date on its next sweep, since it has no snapshots.
	NoRequest bool
	// DeterministicIDs derives the portfolio and position ids (uuid v5)
	// from owner, account, symbol and entry date, so that repeating the
	// same onboarding returns the first result instead of failing.
	DeterministicIDs bool
}

// NextStep tells an old client what to call next.
type NextStep struct {
	Action      string `json:"action"`
	Endpoint    string `json:"endpoint"`
	Description string `json:"description"`
}

// OnboardResult describes the onboarded portfolio.
type OnboardResult struct {
	PortfolioID       uuid.UUID `json:"portfolio_id"`
	PortfolioName     string    `json:"portfolio_name"`
	AccountName       string    `json:"account_name"`
	AccountType       string    `json:"account_type"`
	StartingEquity    Decimal   `json:"equity_balance"`
	InceptionDate     time.Time `json:"inception_date"`
	PositionsImported int       `json:"positions_imported"`
	PositionsFailed   int       `json:"positions_failed"`
	TotalPositions    int       `json:"total_positions"`
	// Format is the layout the file was read as; FlowsImported the capital
	// flows recorded from it.
	Format        Format `json:"format"`
	FlowsImported int    `json:"flows_imported"`
	// RunID is the pending backfill run; uuid.Nil with NoRequest.
	RunID uuid.UUID `json:"batch_run_id"`
	// Existing is true when a deterministic-id onboarding found the same
	// portfolio already onboarded and wrote nothing.
	Existing bool     `json:"existing"`
	Message  string   `json:"message"`
	NextStep NextStep `json:"next_step"`
}

// Onboard validates req and, in one transaction, writes the portfolio, its
// positions, a pending backfill_state row and (unless req.NoRequest) a
// pending batch run, then notifies the reconciler's channel; the
// notification is delivered on commit. Invalid input returns a
// *ValidationError and writes nothing; a duplicate account returns an error
// matching both ErrDuplicateAccount and *ValidationError (ERR_PORT_001).
func (c *Client) Onboard(ctx context.Context, req *OnboardRequest) (*OnboardResult, error) {
	return c.onboard(ctx, c.db, req)
}

// OnboardTx is Onboard inside the caller's transaction: nothing is visible,
// and no notification is delivered, until the caller commits.
func (c *Client) OnboardTx(ctx context.Context, tx pgx.Tx, req *OnboardRequest) (*OnboardResult, error) {
	return c.onboard(ctx, tx, req)
}

func (c *Client) onboard(ctx context.Context, db Beginner, req *OnboardRequest) (*OnboardResult, error) {
	start := time.Now()
	in, err := c.validateRequest(req)
	if err != nil {
		return nil, err
	}
	imp, err := c.readImport(req)
	if err != nil {
		return nil, err
	}
	positions := imp.Positions
	res := &OnboardResult{
		Format:            imp.Format,
		FlowsImported:     len(imp.Flows),
		PortfolioName:     in.PortfolioName,
		AccountName:       in.AccountName,
		AccountType:       in.AccountType,
		StartingEquity:    in.equity,
		InceptionDate:     inceptionDate(positions),
		PositionsImported: len(positions),
		TotalPositions:    len(positions),
	}
	if req.DeterministicIDs {
		res.PortfolioID = uuid.NewSHA1(idNamespace, []byte(in.OwnerID+"\x00"+in.AccountName))
	} else {
		res.PortfolioID = newID()
	}
	ids := positionIDs(res.PortfolioID, positions, req.DeterministicIDs)

	err = inTx(ctx, db, func(tx pgx.Tx) error {
		if req.DeterministicIDs {
			done, err := c.findExisting(ctx, tx, res, ids)
			if err != nil || done {
				return err
			}
		}
		if err := c.writePortfolio(ctx, tx, in, res, positions, ids, !req.NoRequest); err != nil {
			return err
		}
		return c.writeImportedFlows(ctx, tx, res.PortfolioID, imp.Flows)
	})
	if err != nil {
		if isUniqueViolation(err, "portfolios_owner_account_live_idx") {
			return nil, duplicateAccountError(in.AccountName)
		}
		return nil, fmt.Errorf("onboard: %w", err)
	}
	res.Message = fmt.Sprintf("Portfolio created with %d positions; backfill requested", res.PositionsImported)
	if res.Existing {
		res.Message = fmt.Sprintf("Portfolio already onboarded with the same %d positions; nothing written", res.PositionsImported)
	} else if req.NoRequest {
		res.Message = fmt.Sprintf("Portfolio created with %d positions; the reconciler will backfill it on its next sweep", res.PositionsImported)
	}
	res.NextStep = NextStep{
		Action:      "calculate",
		Endpoint:    "/api/v1/portfolios/" + res.PortfolioID.String() + "/calculate",
		Description: "Snapshots and risk analytics are computed automatically; call this to request a recalculation",
	}
	c.cfg.Logger.InfoContext(ctx, "portfolio onboarded",
		"portfolio_id", res.PortfolioID, "positions", res.PositionsImported,
		"run_id", res.RunID, "existing", res.Existing, "duration", time.Since(start))
	return res, nil
}

func duplicateAccountError(account string) error {
	return fmt.Errorf("%w: %w", ErrDuplicateAccount, &ValidationError{
		Code:    CodePort001,
		Message: Message(CodePort001),
		Errors:  []FieldError{{Field: "account_name", Code: CodePort001, Message: Message(CodePort001), Value: truncate(account)}},
	})
}

// validRequest is an OnboardRequest after validation and normalisation.
type validRequest struct {
	OnboardRequest
	equity Decimal
}

// validateRequest checks every request field and reports all problems
// together; the CSV is parsed afterwards.
func (c *Client) validateRequest(req *OnboardRequest) (*validRequest, error) {
	if req == nil {
		req = &OnboardRequest{}
	}
	in := &validRequest{OnboardRequest: *req}
	in.OwnerID = strings.TrimSpace(in.OwnerID)
	in.PortfolioName = strings.TrimSpace(in.PortfolioName)
	in.AccountName = strings.TrimSpace(in.AccountName)
	in.AccountType = strings.ToLower(strings.TrimSpace(in.AccountType))
	in.StartingEquity = strings.TrimSpace(in.StartingEquity)
	in.Description = strings.TrimSpace(in.Description)

	var errs []FieldError
	add := func(field string, code Code, msg, value string) {
		if msg == "" {
			msg = Message(code)
		}
		errs = append(errs, FieldError{Field: field, Code: code, Message: msg, Value: truncate(value)})
	}
	switch {
	case in.OwnerID == "":
		add("owner_id", CodeOwner001, "Owner id is required", "")
	case !isText(in.OwnerID) || utf8.RuneCountInString(in.OwnerID) > MaxOwnerIDLength:
		add("owner_id", CodeOwner001, fmt.Sprintf("Owner id must be at most %d characters of text", MaxOwnerIDLength), in.OwnerID)
	}
	switch {
	case in.PortfolioName == "":
		add("portfolio_name", CodePort002, "", "")
	case !isText(in.PortfolioName):
		add("portfolio_name", CodePort003, "Portfolio name must be text: valid UTF-8 without control characters", in.PortfolioName)
	case utf8.RuneCountInString(in.PortfolioName) > MaxPortfolioNameLength:
		add("portfolio_name", CodePort003, "", in.PortfolioName)
	}
	switch {
	case in.AccountName == "":
		add("account_name", CodePort011, "", "")
	case !isText(in.AccountName):
		add("account_name", CodePort010, "Account name must be text: valid UTF-8 without control characters", in.AccountName)
	case utf8.RuneCountInString(in.AccountName) > MaxAccountNameLength:
		add("account_name", CodePort010, "", in.AccountName)
	}
	if !slices.Contains(AccountTypes, in.AccountType) {
		add("account_type", CodePort009, "", req.AccountType)
	}
	if in.StartingEquity == "" {
		add("equity_balance", CodePort004, "", "")
	} else if d, err := ParseDecimal(in.StartingEquity); err != nil || d.Sign() <= 0 || d.Scale() > 4 {
		add("equity_balance", CodePort005, "Equity balance must be a positive number with at most 4 decimal places", in.StartingEquity)
	} else if d.Cmp(maxStartingEquity) > 0 {
		add("equity_balance", CodePort006, "", in.StartingEquity)
	} else {
		in.equity = d
	}
	switch {
	case !isText(in.Description):
		add("description", CodePort012, "Description must be text: valid UTF-8 without control characters other than tabs and line breaks", in.Description)
	case utf8.RuneCountInString(in.Description) > MaxDescriptionLength:
		add("description", CodePort012, "", in.Description)
	}
	if req.CSV == nil {
		add("csv_file", CodePort007, "", "")
	}
	if len(errs) == 0 {
		return in, nil
	}
	msg := errs[0].Message
	if len(errs) > 1 {
		msg = fmt.Sprintf("Request validation failed with %d errors", len(errs))
	}
	return nil, &ValidationError{Code: errs[0].Code, Message: msg, Errors: errs}
}

// isText reports whether s is valid UTF-8 without control characters other
// than tab and newline (PostgreSQL rejects NUL; the rest is never intended).
func isText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	const max = 100
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func newID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New()
	}
	return id
}

// inceptionDate is the earliest entry date: the portfolio's first day.
func inceptionDate(ps []Position) time.Time {
	var first time.Time
	for i, p := range ps {
		if i == 0 || p.EntryDate.Before(first) {
			first = p.EntryDate
		}
	}
	return first
}

// positionIDs returns one id per position: random, or derived from the
// position's identity (the same key the duplicate rule uses).
func positionIDs(portfolioID uuid.UUID, ps []Position, deterministic bool) []uuid.UUID {
	ids := make([]uuid.UUID, len(ps))
	for i, p := range ps {
		if !deterministic {
			ids[i] = newID()
			continue
		}
		k := keyOf(&p)
		key := fmt.Sprintf("%s\x00%s\x00%d\x00%d\x00%d", k.symbol, k.strike, k.expiry, k.entry, k.kind)
		ids[i] = uuid.NewSHA1(portfolioID, []byte(key))
	}
	return ids
}

// findExisting handles a repeated deterministic onboarding: when the same
// portfolio with the same positions exists it fills res and reports done.
func (c *Client) findExisting(ctx context.Context, tx pgx.Tx, res *OnboardResult, ids []uuid.UUID) (bool, error) {
	var owner, account string
	var deleted bool
	err := tx.QueryRow(ctx, c.cfg.Schema.SQL(
		`SELECT owner_id, account_name, deleted_at IS NOT NULL FROM {schema}.portfolios WHERE id = $1`),
		res.PortfolioID).Scan(&owner, &account, &deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find existing portfolio: %w", err)
	}
	if deleted {
		return false, fmt.Errorf("portfolio %s with this deterministic id was deleted; onboard again without DeterministicIDs", res.PortfolioID)
	}
	var existing []uuid.UUID
	rows, err := tx.Query(ctx, c.cfg.Schema.SQL(`SELECT id FROM {schema}.positions WHERE portfolio_id = $1`), res.PortfolioID)
	if err != nil {
		return false, fmt.Errorf("find existing positions: %w", err)
	}
	existing, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return false, fmt.Errorf("find existing positions: %w", err)
	}
	want := slices.Clone(ids)
	slices.SortFunc(want, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	slices.SortFunc(existing, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	if !slices.Equal(want, existing) {
		return false, duplicateAccountError(account)
	}
	err = tx.QueryRow(ctx, c.cfg.Schema.SQL(
		`SELECT id FROM {schema}.batch_runs WHERE portfolio_id = $1 ORDER BY requested_at DESC LIMIT 1`),
		res.PortfolioID).Scan(&res.RunID)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("find existing run: %w", err)
	}
	res.Existing = true
	return true, nil
}

// writePortfolio inserts the portfolio, its positions (COPY), its
// backfill_state row and, when request is set, a pending run plus the
// notification.
func (c *Client) writePortfolio(ctx context.Context, tx pgx.Tx, in *validRequest, res *OnboardResult, ps []Position, ids []uuid.UUID, request bool) error {
	_, err := tx.Exec(ctx, c.cfg.Schema.SQL(`
		INSERT INTO {schema}.portfolios
			(id, owner_id, name, account_name, account_type, description, starting_equity, inception_date)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`),
		res.PortfolioID, in.OwnerID, in.PortfolioName, in.AccountName, in.AccountType,
		in.Description, in.equity, res.InceptionDate)
	if err != nil {
		return fmt.Errorf("insert portfolio: %w", err)
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{c.cfg.Schema.Name(), "positions"}, positionColumns,
		pgx.CopyFromSlice(len(ps), func(i int) ([]any, error) {
			return positionRow(res.PortfolioID, ids[i], &ps[i]), nil
		}))
	if err != nil {
		return fmt.Errorf("insert positions: %w", err)
	}
	if c.afterPositions != nil {
		if err := c.afterPositions(ctx); err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, c.cfg.Schema.SQL(`
		INSERT INTO {schema}.backfill_state (portfolio_id, status, requested_at, behind_since)
		VALUES ($1, `+StatePending.Literal()+`, CASE WHEN $2 THEN now() END, now())`),
		res.PortfolioID, request)
	if err != nil {
		return fmt.Errorf("insert backfill state: %w", err)
	}
	if !request {
		return nil
	}
	run, err := c.requestTx(ctx, tx, res.PortfolioID, TriggerOnboarding)
	if err != nil {
		return err
	}
	res.RunID = run.ID
	return nil
}

var positionColumns = []string{
	"portfolio_id", "id", "symbol", "position_type", "investment_class", "investment_subtype",
	"is_cash", "quantity", "entry_price", "entry_date", "exit_date", "exit_price",
	"underlying_symbol", "strike_price", "expiration_date", "option_type", "multiplier", "source_row",
}

func positionRow(portfolioID, id uuid.UUID, p *Position) []any {
	var subtype, underlying, optionType *string
	if p.Subtype != "" {
		subtype = &p.Subtype
	}
	if p.Underlying != "" {
		underlying = &p.Underlying
	}
	if p.OptionType != "" {
		s := string(p.OptionType)
		optionType = &s
	}
	return []any{
		portfolioID, id, p.Symbol, string(p.Type), string(p.Class), subtype,
		p.IsCash, p.Quantity, p.EntryPrice, p.EntryDate, p.ExitDate, p.ExitPrice,
		underlying, p.Strike, p.Expiration, optionType, p.Multiplier, p.Row,
	}
}
