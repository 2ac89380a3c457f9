package sqlstore

import (
	"context"
	"strings"
)

// Clear forgets the key exact and every key beginning with prefix. An
// empty argument matches nothing. Keys stored hashed (longer than the
// column) cannot be matched by prefix; the domain's keys for a valid email
// are never that long.
func (s *Store) Clear(ctx context.Context, exact, prefix string) error {
	q, err := s.queries(ctx)
	if err != nil {
		return s.wrap("clear login attempts", err)
	}
	like := "" // matches only the empty key, which the domain never makes
	if prefix != "" {
		like = likeEscaper.Replace(prefix) + "%"
	}
	if exact != "" {
		exact = s.d.attemptKey(exact)
	}
	err = s.retry(func() error {
		_, err := q.rec.clearAttempts.ExecContext(ctx, exact, like)
		return err
	})
	return s.wrap("clear login attempts", err)
}

// likeEscaper escapes LIKE's wildcards (and its escape character, !).
var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
