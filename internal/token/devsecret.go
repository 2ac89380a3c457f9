package token

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// devSecretBytes is the size of a generated development secret: twice the
// HS256 minimum, as a 512-bit key costs nothing.
const devSecretBytes = 64

// DevSecret returns the development HS256 secret kept in the file at path,
// creating the file (and its directory) when it does not exist yet: 64
// random bytes, hex-encoded, mode 0600. created reports whether this call
// made it, so that the caller can say so. A file that others may read is
// tightened to 0600. Because the secret survives restarts, tokens stay valid
// across them, as they would with a configured key.
func DevSecret(path string) (secret []byte, created bool, err error) {
	secret, err = readDevSecret(path)
	if err == nil {
		return secret, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("development secret: %w", err)
	}
	secret = make([]byte, devSecretBytes)
	if _, err := rand.Read(secret); err != nil {
		return nil, false, fmt.Errorf("development secret: %w", err)
	}
	// O_EXCL: of two processes starting at once, one creates the file and the
	// other reads it, so both sign with the same secret.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		secret, err = readDevSecret(path)
		return secret, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("development secret: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(secret) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// A half-written file would be refused at the next start.
		_ = os.Remove(path)
		return nil, false, fmt.Errorf("development secret: %w", err)
	}
	return secret, true, nil
}

func readDevSecret(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("development secret: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("development secret: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, fmt.Errorf("development secret: restrict %s to mode 0600: %w", path, err)
		}
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(secret) < MinSecretLength {
		return nil, fmt.Errorf("development secret %s: not %d or more hex-encoded bytes; delete the file to have a new one generated", path, MinSecretLength)
	}
	return secret, nil
}
