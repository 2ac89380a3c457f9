package design

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/authserve/authserve/internal/sqlstore"
)

var update = flag.Bool("update", false, "rewrite the generated diagrams in docs/design")

// designDir is docs/design, seen from this package.
const designDir = "../../docs/design"

// schemaCommand regenerates schema.puml.
const schemaCommand = "go test ./internal/design -run TestSchemaDiagram -update"

// TestSchemaDiagram migrates a new SQLite database with the embedded
// migrations and fails when docs/design/schema.puml is not the diagram of
// its schema: whoever adds a migration regenerates the diagram (and its
// SVG, make diagrams) in the same change.
func TestSchemaDiagram(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "schema.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tables, err := SQLiteSchema(ctx, s.DB())
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) == 0 {
		t.Fatal("the migrated database has no tables")
	}
	got := SchemaPUML(tables, schemaCommand)
	path := filepath.Join(designDir, "schema.puml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s; render it with make diagrams", path)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run %s)", err, schemaCommand)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("docs/design/schema.puml is not the schema of the migrations; run %s and make diagrams\n%s",
			schemaCommand, lineDiff(string(want), string(got)))
	}
}

// TestSchemaPUMLShowsEverything checks the renderer on the migrated
// schema: every table, column, index and foreign key appears.
func TestSchemaPUMLShowsEverything(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Options{Driver: "sqlite", DSN: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tables, err := SQLiteSchema(ctx, s.DB())
	if err != nil {
		t.Fatal(err)
	}
	out := string(SchemaPUML(tables, "test"))
	seen := map[string]bool{}
	for _, tb := range tables {
		seen[tb.Name] = true
		if !strings.Contains(out, "entity "+tb.Name+" {") {
			t.Errorf("table %s is missing", tb.Name)
		}
		for _, c := range tb.Columns {
			if !strings.Contains(out, " "+c.Name+" : "+c.Type) {
				t.Errorf("column %s.%s is missing", tb.Name, c.Name)
			}
		}
		for _, ix := range tb.Indexes {
			if !strings.Contains(out, " "+ix.Name+" (") || len(ix.Columns) == 0 || ix.Columns[0] == "" {
				t.Errorf("index %s of %s is missing or has no columns: %+v", ix.Name, tb.Name, ix)
			}
		}
		for _, fk := range tb.ForeignKeys {
			if !strings.Contains(out, tb.Name+" }o--|| "+fk.Table+" : ") {
				t.Errorf("foreign key %s → %s is missing", tb.Name, fk.Table)
			}
		}
	}
	// The tables every version of the schema has, with the keys the
	// domain relies on.
	for _, name := range []string{"users", "sessions", "refresh_tokens", "login_attempts"} {
		if !seen[name] {
			t.Errorf("table %s not found in the migrated database", name)
		}
	}
	for _, want := range []string{
		"UNIQUE users_email_lower_key (lower(email))",
		"sessions }o--|| users : user_id → id\\nON DELETE CASCADE",
		"* id : INTEGER «PK»",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the diagram lacks %q", want)
		}
	}
	if strings.Contains(out, "goose_db_version") || strings.Contains(out, "sqlite_sequence") {
		t.Errorf("the diagram shows internal tables")
	}
}

// lineDiff shows the first differing line of two texts.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + itoa(i+1) + ":\n- " + w + "\n+ " + g
		}
	}
	return "(no difference)"
}

func itoa(i int) string { return strconv.Itoa(i) }
