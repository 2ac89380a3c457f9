package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"strings"

	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5/static"
	"github.com/swaggest/swgui/v5emb"
)

// docsPath is where Swagger UI lives; its assets are under docsPath + "/".
const docsPath = "/docs"

// specPath is the OpenAPI document Swagger UI loads.
const specPath = "/openapi.json"

// swaggerUI serves Swagger UI from assets embedded in the binary (no CDN,
// so it works offline). The index page is rendered once at start-up: its
// inline scripts never change, so the page's Content-Security-Policy can
// allow exactly those scripts by hash instead of 'unsafe-inline'.
type swaggerUI struct {
	index  []byte
	csp    string
	assets http.Handler
}

func newSwaggerUI(title string) (*swaggerUI, error) {
	ui := v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       title,
		SwaggerJSON: specPath,
		BasePath:    docsPath + "/",
		SettingsUI: map[string]string{
			// The token entered under Authorize is a credential: never
			// keep it in the browser's storage.
			"persistAuthorization": "false",
			"tryItOutEnabled":      "true",
		},
	})
	req, err := http.NewRequest(http.MethodGet, docsPath+"/", nil)
	if err != nil {
		return nil, fmt.Errorf("swagger ui: %w", err)
	}
	page := &pageBuffer{header: http.Header{}}
	ui.ServeHTTP(page, req)
	if page.status != 0 && page.status != http.StatusOK {
		return nil, fmt.Errorf("swagger ui: rendering the index page gave status %d", page.status)
	}
	return &swaggerUI{index: page.body.Bytes(), csp: docsCSP(page.body.Bytes()), assets: ui}, nil
}

// inlineScript matches a script element without attributes: an inline
// script (the external ones carry src).
var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// docsCSP is the policy of the Swagger UI page and its assets: scripts and
// styles from this origin only, plus the page's own inline scripts by
// hash. Styles may be inline because Swagger UI's components set style
// attributes, which no hash can allow; inline style cannot run code.
// Images may be data: URIs (the stylesheet's icons). Try it out calls
// this origin (connect-src 'self'). Framing is limited to this origin.
func docsCSP(index []byte) string {
	var hashes []string
	for _, m := range inlineScript.FindAllSubmatch(index, -1) {
		sum := sha256.Sum256(m[1])
		hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return "default-src 'none'; " +
		"script-src 'self' " + strings.Join(hashes, " ") + "; " +
		"style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data:; " +
		"font-src 'self' data:; " +
		"connect-src 'self'; " +
		"base-uri 'none'; " +
		"form-action 'self'; " +
		"frame-ancestors 'self'"
}

// serveIndex serves the pre-rendered page at /docs and /docs/.
func (ui *swaggerUI) serveIndex(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(ui.index)
}

// serveAsset serves an embedded asset (gzip-encoded when the client
// accepts it), the index for /docs/, and a problem for anything else.
func (ui *swaggerUI) serveAsset(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, docsPath+"/")
	if name == "" {
		ui.serveIndex(w, r)
		return
	}
	if !assetExists(name) {
		writeProblem(w, problemFor(r.Context(), errRouteNotFound))
		return
	}
	ui.assets.ServeHTTP(w, r)
}

// assetExists reports whether the embedded file system has name, stored
// either plain or gzip-compressed.
func assetExists(name string) bool {
	// Compressed files are served under their plain names only.
	if !fs.ValidPath(name) || strings.Contains(name, "/") || strings.HasSuffix(name, ".gz") {
		return false
	}
	for _, n := range []string{name, name + ".gz"} {
		if fi, err := fs.Stat(static.FS, n); err == nil && !fi.IsDir() {
			return true
		}
	}
	return false
}

// pageBuffer captures a rendered page.
type pageBuffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (p *pageBuffer) Header() http.Header         { return p.header }
func (p *pageBuffer) Write(b []byte) (int, error) { return p.body.Write(b) }
func (p *pageBuffer) WriteHeader(status int)      { p.status = status }
