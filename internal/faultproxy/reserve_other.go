//go:build !linux

package faultproxy

import (
	"io"
	"net"
)

// listenConfig returns the default listen configuration.
func listenConfig() net.ListenConfig { return net.ListenConfig{} }

// reserve does nothing outside Linux: while the proxy refuses, its port is
// free, and a test that is unlucky enough may see another listener take it
// (SetMode(Pass) then fails rather than forwarding to a stranger).
func reserve(string) (io.Closer, error) { return nopCloser{}, nil }

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
