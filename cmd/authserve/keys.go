package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/authserve/authserve/internal/token"
	"github.com/authserve/authserve/internal/totp"
)

// keys implements `authserve keys generate --type T [--out FILE]`.
func keys(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("usage: authserve keys generate --type ed25519|p256|rsa|aes256 [--out FILE]")
	}
	if args[0] != "generate" {
		return unknownCommand(stderr, "keys", args[0])
	}
	fs := newFlags("keys generate", stderr)
	kind := fs.String("type", "ed25519", "key type: ed25519 (EdDSA), p256 (ES256), rsa (RS256), or aes256 (32 random bytes as base64, for AUTH_MFA_ENCRYPTION_KEY)")
	out := fs.String("out", "", "write the PEM to this file (mode 0600, never overwritten) instead of standard output")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError{code: 2}
	}
	if fs.NArg() > 0 {
		return usageError("keys generate: unexpected argument %q", fs.Arg(0))
	}
	var pem []byte
	switch *kind {
	case "ed25519", "p256", "rsa":
		var err error
		if pem, err = token.GenerateKeyPEM(*kind); err != nil {
			return fmt.Errorf("generate key: %w", err)
		}
	case "aes256":
		pem = []byte(totp.GenerateKey() + "\n")
	default:
		return usageError("keys generate: --type must be ed25519, p256, rsa or aes256, not %q", *kind)
	}
	if *out == "" {
		_, err := stdout.Write(pem)
		return err
	}
	if err := writeNewFile(*out, pem); err != nil {
		return err
	}
	if *kind == "aes256" {
		fmt.Fprintf(stdout, "wrote a new aes256 key to %s (mode 0600); its contents are a value for AUTH_MFA_ENCRYPTION_KEY\n", *out)
		return nil
	}
	fmt.Fprintf(stdout, "wrote a new %s private key to %s (mode 0600); set AUTH_JWT_PRIVATE_KEY_FILE=%s\n", *kind, *out, *out)
	return nil
}

// writeNewFile creates path with mode 0600 and refuses to replace an
// existing file: overwriting a signing key would log everyone out.
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; refusing to overwrite a key", path)
	}
	if err != nil {
		return err // an *fs.PathError: it names path
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
