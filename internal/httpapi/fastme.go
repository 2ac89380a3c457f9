package httpapi

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/authserve/authserve/internal/logging"
)

// mePattern is GET /api/auth/me's route. It is registered with huma like
// every operation (the OpenAPI document, the reference path), but served
// by serveMe: the token check is the hottest path of the service, and
// huma's per-request machinery (its context, middleware chain and
// reflective JSON encoder) was an eighth of its CPU. A test keeps both
// paths answering the same bytes.
const mePattern = "GET /api/auth/me"

// meBufs recycles serveMe's response buffers.
var meBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// serveMe answers GET /api/auth/me as the huma operation does: the same
// authentication and errors as requireBearer, the same JSON as userOutput.
func (s *server) serveMe(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var p auth.Principal
	raw, ok := bearerToken(r.Header.Get("Authorization"))
	err := errMissingToken
	if ok {
		p, err = s.svc.Authenticate(ctx, raw)
	}
	if err != nil {
		writeProblem(w, problemFor(ctx, err))
		return
	}
	if st := stateFrom(ctx); st != nil {
		st.principal = &p
	}
	setUserID(ctx, p.User.ID)
	bp := meBufs.Get().(*[]byte)
	b := appendUserJSON((*bp)[:0], &p.User)
	w.Header()["Content-Type"] = hdrJSON
	_, _ = w.Write(b) // an error here means the client went away
	*bp = b
	meBufs.Put(bp)
}

// appendUserJSON appends u as encoding/json writes userFrom(u) (huma's
// encoder: no HTML escaping; empty names as null; times in UTC), then a
// newline as json.Encoder does. A field added to user must be added here:
// TestFastMeAnswersAsHuma fails until it is.
func appendUserJSON(b []byte, u *auth.User) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, u.ID, 10)
	b = append(b, `,"email":`...)
	b = appendJSONString(b, u.Email)
	b = append(b, `,"first_name":`...)
	b = appendOptional(b, u.FirstName)
	b = append(b, `,"last_name":`...)
	b = appendOptional(b, u.LastName)
	b = append(b, `,"is_active":`...)
	b = strconv.AppendBool(b, u.IsActive)
	b = append(b, `,"email_verified":`...)
	b = strconv.AppendBool(b, u.EmailVerified)
	b = append(b, `,"created_at":"`...)
	b = u.CreatedAt.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","updated_at":"`...)
	b = u.UpdatedAt.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, "\"}\n"...)
}

func appendOptional(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendJSONString(b, s)
}

// appendJSONString quotes s as encoding/json does without HTML escaping:
// the same rules as the log lines' strings (logging.AppendJSONString).
func appendJSONString(b []byte, s string) []byte { return logging.AppendJSONString(b, s) }
