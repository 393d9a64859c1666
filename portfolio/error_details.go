package portfolio

// MaxListedErrors is how many FieldErrors an error envelope lists (see
// ValidationError.Details); its total_errors counts them all, so that a
// file with a million bad rows gets a short answer that still says how bad
// it is.
const MaxListedErrors = 100

// ErrorDetails is the details object of the seed system's error envelope,
// {"error":{"code","message","details":{"errors":[…],"total_errors":N}}}:
// the first MaxListedErrors errors, in row order, and the number of all.
type ErrorDetails struct {
	Errors      []FieldError `json:"errors"`
	TotalErrors int          `json:"total_errors"`
}

// Details returns e's errors for an error envelope: at most
// MaxListedErrors of them (never nil, so that JSON shows []), and the total.
func (e *ValidationError) Details() ErrorDetails {
	errs := e.Errors[:min(len(e.Errors), MaxListedErrors)]
	if errs == nil {
		errs = []FieldError{}
	}
	return ErrorDetails{Errors: errs, TotalErrors: len(e.Errors)}
}
