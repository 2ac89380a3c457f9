package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// userAgent identifies the load in the server's access log.
const userAgent = "authbench/1"

// maxBody bounds what is read of one response; the API's answers are a
// few hundred bytes.
const maxBody = 1 << 20

// newTransport returns a transport tuned for load: keep-alive connections
// with an idle pool as large as the busiest phase, so that no request pays
// for a dial; no proxy, so that traffic goes to the given address only;
// and, unless allowRemote, a dialer that refuses any resolved address
// outside loopback.
//
// Requests go to the transport's RoundTrip directly, not through an
// http.Client: that never follows a redirect elsewhere and skips the
// client's per-request bookkeeping. There is no per-request timer either;
// responses are bounded by ResponseHeaderTimeout and by each phase's hard
// deadline on the request context.
func newTransport(conns int, timeout time.Duration, allowRemote bool) *http.Transport {
	dialer := &net.Dialer{Timeout: min(timeout, 5*time.Second), KeepAlive: 30 * time.Second}
	if !allowRemote {
		dialer.Control = loopbackOnly
	}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   min(timeout, 5*time.Second),
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true,
	}
}

// outcome is how one request ended: an HTTP status with the problem code of
// an error response, or a transport failure (status 0).
type outcome struct {
	status int
	code   string // problem "code", or the class of a transport error
}

// String returns the outcome as used for status counts: "200",
// "503 overloaded", "error: timeout".
func (o outcome) String() string {
	if o.status == 0 {
		return "error: " + o.code
	}
	s := strconv.Itoa(o.status)
	if o.code != "" {
		s += " " + o.code
	}
	return s
}

func (o outcome) ok() bool { return o.status >= 200 && o.status < 300 }

// send performs req and always drains and closes the body, so that the
// connection goes back to the pool. With keep set, or for an error status,
// the body is left in buf. err is the transport error, if any.
func send(rt http.RoundTripper, req *http.Request, buf *bytes.Buffer, keep bool) (outcome, error) {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return outcome{code: classify(err)}, err
	}
	o := outcome{status: resp.StatusCode}
	if keep || resp.StatusCode >= 400 {
		buf.Reset()
		_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxBody))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if err != nil {
		return outcome{code: classify(err)}, err
	}
	if resp.StatusCode >= 400 {
		o.code = problemCode(buf.Bytes())
	}
	return o, nil
}

// problemCode extracts the stable "code" of an RFC 9457 body, or "" when
// there is none or it does not look like one of the error codes (docs/api.md "Errors") (the
// value becomes a map key and a table cell, so it is kept tame).
func problemCode(body []byte) string {
	var p struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(body, &p) != nil || len(p.Code) == 0 || len(p.Code) > 40 {
		return ""
	}
	for _, r := range p.Code {
		if (r < 'a' || r > 'z') && r != '_' {
			return ""
		}
	}
	return p.Code
}

// classify names a transport error for status counts.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, errNotLoopback):
		return "refused non-loopback"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset"
	default:
		return "other"
	}
}

// newJSONPost builds a POST of a JSON body. The body is a fresh reader each
// time because the transport may close it after Do returns.
func newJSONPost(ctx context.Context, url string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	return req, nil
}

// newGet builds a GET that a worker reuses for every request it makes,
// which is allowed once the previous response body is closed, and saves
// building a request per call on the fast paths.
func newGet(ctx context.Context, url, bearer string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return req, nil
}

// tokens is the part of the token response the load tool uses.
type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// credentials is the body of register and login.
type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// refreshBody is the body of refresh.
type refreshBody struct {
	RefreshToken string `json:"refresh_token"`
}
