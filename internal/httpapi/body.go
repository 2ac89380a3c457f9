package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// bodyReadTimeout bounds how long a client may take to send a request
// body, so that a trickling client cannot hold a handler.
const bodyReadTimeout = 10 * time.Second

// readBody enforces the body rules before huma sees the request: JSON
// only, at most maxBody bytes (declared or actual, chunked included). The
// body is read into memory so huma's own reader never meets a slow or
// oversized stream.
func (s *server) readBody(w http.ResponseWriter, r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if r.ContentLength == 0 {
			// No body at all: huma answers that one is required.
			return nil
		}
		return errUnsupportedMediaType
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return errUnsupportedMediaType
	}
	// JSON is UTF-8 (RFC 8259 §8.1); another declared charset is refused
	// rather than misread.
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return errUnsupportedMediaType
	}
	// Huma matches media types case-sensitively; hand it the canonical one.
	r.Header.Set("Content-Type", "application/json")
	if r.ContentLength > s.maxBody {
		return errPayloadTooLarge
	}
	// Not every ResponseWriter can set deadlines (httptest's cannot).
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.bodyTimeout))
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err = buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return errPayloadTooLarge
		}
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			return fmt.Errorf("%w: body read timed out", errMalformedRequest)
		}
		return fmt.Errorf("%w: %w", errMalformedRequest, err)
	}
	// JSON is UTF-8 (RFC 8259 §8.1): decoding invalid bytes would turn
	// them all into U+FFFD, and different passwords into the same one.
	if !utf8.Valid(buf.Bytes()) {
		return fmt.Errorf("%w: not UTF-8", errMalformedRequest)
	}
	// One member name twice is refused (I-JSON, RFC 7493): parsers differ
	// on which one wins, and a proxy and this service must read the same.
	if err := checkUniqueNames(buf.Bytes()); err != nil {
		return fmt.Errorf("%w: %w", errMalformedRequest, err)
	}
	// The body is in; a deadline left on the connection would cancel the
	// request's context (net/http's background read fails) while the
	// handler is still hashing or waiting for the database.
	_ = rc.SetReadDeadline(time.Time{})
	r.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
	r.ContentLength = int64(buf.Len())
	return nil
}

// headerSize is the size of the request line and headers as they came
// over the wire, near enough (net/http counts the same way).
func headerSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}
