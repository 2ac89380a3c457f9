package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// AdminKey is a key of the administration API. Only the SHA-256 of its
// secret is stored: the secret is shown once, when it is created.
type AdminKey struct {
	Name       string
	Hash       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// adminKeyPrefix marks authserve admin keys, so that a leaked one is
// recognisable (secret scanners, logs) and never mistaken for a JWT.
const adminKeyPrefix = "asa_"

// adminKeyTouchInterval bounds how often a key's last use is written: a
// busy back office would otherwise write on every request.
const adminKeyTouchInterval = time.Minute

// maxAdminKeyName bounds key names; they are part of every audit actor.
const maxAdminKeyName = 64

// HashAdminKey returns the stored form of an admin key's secret.
func HashAdminKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// validKeyName accepts 1 to 64 characters of [A-Za-z0-9._-].
func validKeyName(name string) bool {
	if name == "" || len(name) > maxAdminKeyName {
		return false
	}
	for _, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// CreateAdminKey makes a new admin key called name and returns its secret,
// 256 random bits, which is not kept anywhere.
func (s *Service) CreateAdminKey(ctx context.Context, name string) (string, AdminKey, error) {
	if err := s.adminReady(); err != nil {
		return "", AdminKey{}, err
	}
	if !validKeyName(name) {
		return "", AdminKey{}, &ValidationError{Fields: []FieldError{{Field: "name", Message: "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'"}}}
	}
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	secret := adminKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	k := AdminKey{Name: name, Hash: HashAdminKey(secret), CreatedAt: s.now().UTC()}
	if err := s.admin.CreateAdminKey(s.audit(ctx, "admin_key.created", 0, map[string]any{"name": name}), k); err != nil {
		return "", AdminKey{}, fmt.Errorf("create admin key %q: %w", name, err)
	}
	s.event(ctx, "admin_key.created", slog.String("name", name))
	return secret, k, nil
}

// AdminKeys lists the admin keys, by name.
func (s *Service) AdminKeys(ctx context.Context) ([]AdminKey, error) {
	if err := s.adminReady(); err != nil {
		return nil, err
	}
	ks, err := s.admin.ListAdminKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list admin keys: %w", err)
	}
	return ks, nil
}

// RevokeAdminKey deletes the admin key called name: requests with it are
// refused from then on. ErrNotFound when there is none.
func (s *Service) RevokeAdminKey(ctx context.Context, name string) error {
	if err := s.adminReady(); err != nil {
		return err
	}
	if err := s.admin.DeleteAdminKey(s.audit(ctx, "admin_key.revoked", 0, map[string]any{"name": name}), name); err != nil {
		return fmt.Errorf("revoke admin key %q: %w", name, err)
	}
	s.event(ctx, "admin_key.revoked", slog.String("name", name))
	return nil
}

// VerifyAdminKey returns the admin key whose secret was presented, and
// records its use. A secret that is no key's (never made, or revoked)
// gives ErrInvalidToken.
func (s *Service) VerifyAdminKey(ctx context.Context, secret string) (AdminKey, error) {
	if err := s.adminReady(); err != nil {
		return AdminKey{}, err
	}
	if !strings.HasPrefix(secret, adminKeyPrefix) || len(secret) > 128 {
		return AdminKey{}, ErrInvalidToken
	}
	hash := HashAdminKey(secret)
	k, err := s.admin.AdminKeyByHash(ctx, hash)
	switch {
	case errors.Is(err, ErrNotFound):
		return AdminKey{}, ErrInvalidToken
	case err != nil:
		return AdminKey{}, fmt.Errorf("find admin key: %w", err)
	}
	// The lookup is by hash, so the secret itself is never compared; the
	// comparison of the hashes is constant-time all the same, so nothing
	// about a stored hash leaks through timing.
	if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(hash)) != 1 {
		return AdminKey{}, ErrInvalidToken
	}
	if err := s.admin.TouchAdminKey(ctx, k.Name, s.now().UTC(), adminKeyTouchInterval); err != nil {
		// A key that works must not stop working because its last use
		// could not be written.
		s.log.WarnContext(ctx, "recording admin key use failed", slog.String("name", k.Name), slog.String("error", err.Error()))
	}
	return k, nil
}
