package breaker

import (
	"context"
	"errors"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// The auth.MFAStore methods, through the same breaker and deadline as the
// rest of the store. The op names label metrics, as in store.go.

var _ auth.MFAStore = (*Store)(nil)

// errNoMFAStore is returned when the inner store does not implement
// auth.MFAStore: a wiring mistake, reported rather than hidden.
var errNoMFAStore = errors.New("breaker: the inner store has no MFA support")

func (s *Store) mfa() (auth.MFAStore, error) {
	m, ok := s.inner.(auth.MFAStore)
	if !ok {
		return nil, errNoMFAStore
	}
	return m, nil
}

// CreateFactor calls the inner store's CreateFactor through the breaker.
func (s *Store) CreateFactor(ctx context.Context, f auth.Factor) error {
	m, err := s.mfa()
	if err != nil {
		return err
	}
	return exec(ctx, s, "create_factor", func(ctx context.Context) error { return m.CreateFactor(ctx, f) })
}

// Factor calls the inner store's Factor through the breaker.
func (s *Store) Factor(ctx context.Context, userID int64, id string) (auth.Factor, error) {
	m, err := s.mfa()
	if err != nil {
		return auth.Factor{}, err
	}
	return call(ctx, s, "factor", func(ctx context.Context) (auth.Factor, error) { return m.Factor(ctx, userID, id) })
}

// ActivateFactor calls the inner store's ActivateFactor through the breaker.
func (s *Store) ActivateFactor(ctx context.Context, a auth.FactorActivation) error {
	m, err := s.mfa()
	if err != nil {
		return err
	}
	return exec(ctx, s, "activate_factor", func(ctx context.Context) error { return m.ActivateFactor(ctx, a) })
}

// ListFactors calls the inner store's ListFactors through the breaker.
func (s *Store) ListFactors(ctx context.Context, userID int64) ([]auth.Factor, error) {
	m, err := s.mfa()
	if err != nil {
		return nil, err
	}
	return call(ctx, s, "list_factors", func(ctx context.Context) ([]auth.Factor, error) { return m.ListFactors(ctx, userID) })
}

// DeleteFactor calls the inner store's DeleteFactor through the breaker.
func (s *Store) DeleteFactor(ctx context.Context, userID int64, id string) (int, error) {
	m, err := s.mfa()
	if err != nil {
		return 0, err
	}
	return call(ctx, s, "delete_factor", func(ctx context.Context) (int, error) { return m.DeleteFactor(ctx, userID, id) })
}

// ReplaceRecoveryCodes calls the inner store's ReplaceRecoveryCodes through the breaker.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes []string, now time.Time) error {
	m, err := s.mfa()
	if err != nil {
		return err
	}
	return exec(ctx, s, "replace_recovery_codes", func(ctx context.Context) error {
		return m.ReplaceRecoveryCodes(ctx, userID, hashes, now)
	})
}

// ResetMFA calls the inner store's ResetMFA through the breaker.
func (s *Store) ResetMFA(ctx context.Context, userID int64) (int, error) {
	m, err := s.mfa()
	if err != nil {
		return 0, err
	}
	return call(ctx, s, "reset_mfa", func(ctx context.Context) (int, error) { return m.ResetMFA(ctx, userID) })
}

// CreateMFAChallenge calls the inner store's CreateMFAChallenge through the breaker.
func (s *Store) CreateMFAChallenge(ctx context.Context, c auth.MFAChallenge) ([]string, error) {
	m, err := s.mfa()
	if err != nil {
		return nil, err
	}
	return call(ctx, s, "create_mfa_challenge", func(ctx context.Context) ([]string, error) { return m.CreateMFAChallenge(ctx, c) })
}

// mfaChallenge is MFAChallenge's results in one value, for call.
type mfaChallenge struct {
	c  auth.MFAChallenge
	u  auth.User
	fs []auth.Factor
}

// MFAChallenge calls the inner store's MFAChallenge through the breaker.
func (s *Store) MFAChallenge(ctx context.Context, hash string) (auth.MFAChallenge, auth.User, []auth.Factor, error) {
	m, err := s.mfa()
	if err != nil {
		return auth.MFAChallenge{}, auth.User{}, nil, err
	}
	r, err := call(ctx, s, "mfa_challenge", func(ctx context.Context) (mfaChallenge, error) {
		c, u, fs, err := m.MFAChallenge(ctx, hash)
		return mfaChallenge{c, u, fs}, err
	})
	return r.c, r.u, r.fs, err
}

// FailMFAChallenge calls the inner store's FailMFAChallenge through the breaker.
func (s *Store) FailMFAChallenge(ctx context.Context, hash string, maxFailures int, now time.Time) error {
	m, err := s.mfa()
	if err != nil {
		return err
	}
	return exec(ctx, s, "fail_mfa_challenge", func(ctx context.Context) error {
		return m.FailMFAChallenge(ctx, hash, maxFailures, now)
	})
}

// CompleteMFA calls the inner store's CompleteMFA through the breaker.
func (s *Store) CompleteMFA(ctx context.Context, c auth.MFACompletion) error {
	m, err := s.mfa()
	if err != nil {
		return err
	}
	return exec(ctx, s, "complete_mfa", func(ctx context.Context) error { return m.CompleteMFA(ctx, c) })
}
