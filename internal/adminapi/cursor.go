package adminapi

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/authserve/authserve/internal/auth"
)

// Cursors are opaque to clients: base64url of a kind tag and the keyset
// position of the last row of a page. The tag keeps a cursor of one
// listing from being taken for another's.
const (
	userCursorTag  = "u1"
	auditCursorTag = "a1"
)

// errBadCursor is a cursor that no listing gave out.
var errBadCursor = errors.New("bad cursor")

func encodeCursor(parts ...string) *string {
	s := base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, ":")))
	return &s
}

func decodeCursor(c, tag string, n int) ([]string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, errBadCursor
	}
	parts := strings.Split(string(raw), ":")
	if len(parts) != n+1 || parts[0] != tag {
		return nil, errBadCursor
	}
	return parts[1:], nil
}

// userCursor is the cursor after the user with this id.
func userCursor(id int64) *string { return encodeCursor(userCursorTag, strconv.FormatInt(id, 10)) }

func parseUserCursor(c string) (int64, error) {
	parts, err := decodeCursor(c, userCursorTag, 1)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || id < 0 {
		return 0, errBadCursor
	}
	return id, nil
}

// auditCursor is the cursor after this event.
func auditCursor(ev auth.AuditEvent) *string {
	return encodeCursor(auditCursorTag, strconv.FormatInt(ev.OccurredAt.UnixNano(), 10), strconv.FormatInt(ev.ID, 10))
}

func parseAuditCursor(c string) (*auth.AuditCursor, error) {
	parts, err := decodeCursor(c, auditCursorTag, 2)
	if err != nil {
		return nil, err
	}
	ns, err1 := strconv.ParseInt(parts[0], 10, 64)
	id, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || id < 0 {
		return nil, errBadCursor
	}
	return &auth.AuditCursor{OccurredAt: time.Unix(0, ns).UTC(), ID: id}, nil
}

// fieldError is a validation problem of one query parameter.
func fieldError(field, msg string) error {
	return &auth.ValidationError{Fields: []auth.FieldError{{Field: field, Message: msg}}}
}
