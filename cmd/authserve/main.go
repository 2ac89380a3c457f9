// Command authserve is an authentication service: registration, login,
// JWT access tokens and rotating refresh tokens over a JSON API, plus the
// administrative commands that operate on the same database.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, "authserve:", ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "authserve:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a specific status (2 for usage errors).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }
