package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/authserve/authserve/internal/config"
)

// healthcheck GETs /healthz of the local server, for container health
// checks in images that have no curl. It reads the configuration as the
// server does (environment over .env), so it finds the server's AUTH_ADDR
// wherever that was set.
func healthcheck(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv, ".")
	if err != nil {
		return exitError{code: 1, msg: err.Error()}
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("AUTH_ADDR: %v", err)}
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return exitError{code: 1, msg: err.Error()}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("unhealthy: %v", err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return exitError{code: 1, msg: fmt.Sprintf("unhealthy: %s answered %d", url, resp.StatusCode)}
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
