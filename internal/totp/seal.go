package totp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a sealing key: AES-256.
const KeySize = 32

// PlainKeyID marks a secret stored unencrypted, by a Sealer without a key
// (development only: production requires a key).
const PlainKeyID = "plain"

// ErrUnknownKey means a secret was sealed with a key the Sealer does not
// hold: it was rotated out too early.
var ErrUnknownKey = errors.New("totp: secret sealed with an unknown key")

// Sealer encrypts secrets at rest with AES-256-GCM. Each sealed secret is
// stored beside the id of the key that sealed it, so that the key can be
// rotated: a Sealer seals with its current key and opens with it or any of
// its previous keys. It is safe for concurrent use.
type Sealer struct {
	current string
	aeads   map[string]cipher.AEAD
}

// ParseKey decodes a sealing key: standard base64 of exactly 32 bytes.
func ParseKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("is not standard base64")
	}
	if len(b) != KeySize {
		return nil, fmt.Errorf("decodes to %d bytes, want %d", len(b), KeySize)
	}
	return b, nil
}

// GenerateKey returns a new random sealing key in the form ParseKey reads.
func GenerateKey() string {
	b := make([]byte, KeySize)
	// crypto/rand.Read never fails (it crashes the program instead).
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// KeyID returns the id stored beside secrets sealed with key: the first 8
// bytes of its SHA-256, in hex. It identifies the key without revealing it.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// NewSealer returns a Sealer that seals with current and opens with
// current and previous. With a nil current it stores secrets unencrypted
// (key id PlainKeyID) and still opens secrets sealed with previous keys.
func NewSealer(current []byte, previous ...[]byte) (*Sealer, error) {
	s := &Sealer{current: PlainKeyID, aeads: map[string]cipher.AEAD{}}
	for i, k := range append([][]byte{current}, previous...) {
		if i == 0 && k == nil {
			continue
		}
		if len(k) != KeySize {
			return nil, fmt.Errorf("totp: key of %d bytes, want %d", len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("totp: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("totp: %w", err)
		}
		id := KeyID(k)
		s.aeads[id] = aead
		if i == 0 {
			s.current = id
		}
	}
	return s, nil
}

// Encrypts reports whether Seal encrypts (the Sealer has a current key).
func (s *Sealer) Encrypts() bool { return s.current != PlainKeyID }

// CurrentKeyID is the key id Seal stores.
func (s *Sealer) CurrentKeyID() string { return s.current }

// Seal returns the stored form of secret and the id of its key. aad binds
// the ciphertext to its owner (the factor id): a sealed secret copied to
// another row does not open there.
func (s *Sealer) Seal(secret, aad string) (keyID, sealed string, err error) {
	if !s.Encrypts() {
		return PlainKeyID, secret, nil
	}
	aead := s.aeads[s.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", "", fmt.Errorf("totp: nonce: %w", err)
	}
	out := aead.Seal(nonce, nonce, []byte(secret), []byte(aad))
	return s.current, base64.StdEncoding.EncodeToString(out), nil
}

// Open returns the secret Seal stored as sealed under keyID with aad.
func (s *Sealer) Open(keyID, sealed, aad string) (string, error) {
	if keyID == PlainKeyID {
		return sealed, nil
	}
	aead, ok := s.aeads[keyID]
	if !ok {
		return "", fmt.Errorf("%w (key id %s)", ErrUnknownKey, keyID)
	}
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(b) < aead.NonceSize() {
		return "", errors.New("totp: sealed secret is not valid base64 of a nonce and ciphertext")
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(aad))
	if err != nil {
		return "", errors.New("totp: sealed secret does not authenticate (wrong key, or tampered with)")
	}
	return string(plain), nil
}
