package portfolio

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// DefaultSchema is the PostgreSQL schema that holds the library's tables
// when no other is configured.
const DefaultSchema = "backfill"

// Schema is a validated PostgreSQL schema name. The zero value means
// DefaultSchema.
type Schema string

// ParseSchema validates name as a schema for the library's tables: 1 to 63
// characters, a lower-case letter or underscore first, then lower-case
// letters, digits and underscores. An empty name means DefaultSchema.
func ParseSchema(name string) (Schema, error) {
	if name == "" {
		return DefaultSchema, nil
	}
	if len(name) > 63 {
		return "", fmt.Errorf("schema %q: longer than 63 characters", name)
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r == '_':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return "", fmt.Errorf("schema %q: use lower-case letters, digits and underscores, starting with a letter or underscore", name)
		}
	}
	if strings.HasPrefix(name, "pg_") {
		return "", fmt.Errorf("schema %q: names starting with pg_ are reserved by PostgreSQL", name)
	}
	return Schema(name), nil
}

// Name returns the schema's name, DefaultSchema for the zero value.
func (s Schema) Name() string {
	if s == "" {
		return DefaultSchema
	}
	return string(s)
}

// Quoted returns the schema name quoted as an SQL identifier.
func (s Schema) Quoted() string {
	return pgx.Identifier{s.Name()}.Sanitize()
}

// SQL returns query with every "{schema}" replaced by the quoted schema
// name, so that queries can name tables as {schema}.portfolios.
func (s Schema) SQL(query string) string {
	return strings.ReplaceAll(query, "{schema}", s.Quoted())
}
