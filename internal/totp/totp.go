// Package totp implements the time-based one-time passwords of RFC 6238
// that authenticator apps produce (SHA-1, 6 digits, 30-second steps, one
// step of clock drift either way) and the sealing of their shared secrets
// at rest with AES-256-GCM.
//
// It is a leaf: it imports no other authserve package. Verify returns the
// time step a code matched, so that the caller can remember it and refuse
// the same code again (RFC 6238 §5.2).
package totp

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// The parameters every authenticator app understands; the otpauth:// URI
// states them explicitly.
const (
	// Period is the length of a time step.
	Period = 30 * time.Second
	// Digits is the length of a code.
	Digits = 6
	// Skew is how many steps before and after the current one are accepted.
	Skew = 1
	// secretSize is the shared secret's length in bytes: 160 bits, the
	// HMAC-SHA-1 block-size recommendation of RFC 4226 §4.
	secretSize = 20
)

// ErrMalformed means a code is not six ASCII digits; no secret was used.
var ErrMalformed = errors.New("totp: code is not 6 digits")

var hotpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Key is a newly generated secret: Secret is its base32 form (what a user
// types into an app by hand), URI the otpauth:// URI a QR code carries.
type Key struct {
	Secret string
	URI    string
}

// Generate returns a new random secret for the account name, labelled
// with the issuer in authenticator apps.
func Generate(issuer, account string) (Key, error) {
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, Period: uint(Period / time.Second),
		SecretSize: secretSize, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return Key{}, fmt.Errorf("totp: generate: %w", err)
	}
	return Key{Secret: k.Secret(), URI: k.URL()}, nil
}

// Step returns the RFC 6238 time step of t.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Code returns the code of secret for the step of t (for tests and tools).
func Code(secret string, t time.Time) (string, error) {
	return hotp.GenerateCodeCustom(secret, uint64(Step(t)), hotpOpts)
}

// WellFormed reports whether code looks like a TOTP code: six ASCII digits.
func WellFormed(code string) bool {
	if len(code) != Digits {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// Verify checks code against secret at now, accepting the steps within
// Skew of now's that are later than after (the last step accepted for this
// secret, or a negative number when none was): a code already accepted,
// or any earlier one, never verifies again. It returns the step matched.
// Every candidate step is compared in constant time, all of them always,
// so timing does not tell which step matched.
func Verify(secret, code string, now time.Time, after int64) (step int64, ok bool, err error) {
	if !WellFormed(code) {
		return 0, false, ErrMalformed
	}
	cur := Step(now)
	matched := int64(-1)
	for s := cur - Skew; s <= cur+Skew; s++ {
		want, err := hotp.GenerateCodeCustom(secret, uint64(s), hotpOpts)
		if err != nil {
			return 0, false, fmt.Errorf("totp: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > after && matched < 0 {
			matched = s
		}
	}
	if matched < 0 {
		return 0, false, nil
	}
	return matched, true, nil
}
