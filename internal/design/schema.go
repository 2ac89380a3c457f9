// Package design generates and checks the design documents of
// docs/design: the schema diagram is generated from a migrated SQLite
// database (SQLiteSchema, SchemaPUML), and the tests of this package fail
// when a hand-drawn diagram (configuration, error handling) names a
// variable or an error code the code does not have, or misses one it has.
package design

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Table is one table of a database schema.
type Table struct {
	Name        string
	Columns     []Column
	Indexes     []Index
	ForeignKeys []ForeignKey
}

// Column is one column of a table.
type Column struct {
	Name    string
	Type    string
	NotNull bool
	Default string // the SQL default expression; empty when none
	PK      int    // position in the primary key, from 1; 0 when not part of it
}

// Index is a secondary index of a table (the primary key is shown on its
// columns instead).
type Index struct {
	Name    string
	Unique  bool
	Columns []string // column names, or the SQL of an expression
}

// ForeignKey is a reference from columns of a table to another table.
type ForeignKey struct {
	From     []string
	Table    string
	To       []string
	OnDelete string
}

// internalTables are tables of SQLite and of the migration tool, not of
// the application.
func internalTable(name string) bool {
	return strings.HasPrefix(name, "sqlite_") || name == "goose_db_version"
}

// SQLiteSchema reads every application table of a SQLite database, with
// its columns, secondary indexes and foreign keys, in name order.
func SQLiteSchema(ctx context.Context, db *sql.DB) ([]Table, error) {
	names, err := strings1(ctx, db, `SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var tables []Table
	for _, name := range names {
		if internalTable(name) {
			continue
		}
		t := Table{Name: name}
		if t.Columns, err = columns(ctx, db, name); err != nil {
			return nil, err
		}
		if t.Indexes, err = indexes(ctx, db, name); err != nil {
			return nil, err
		}
		if t.ForeignKeys, err = foreignKeys(ctx, db, name); err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	return tables, nil
}

func strings1(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func columns(ctx context.Context, db *sql.DB, table string) ([]Column, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	defer rows.Close()
	var out []Column
	for rows.Next() {
		var c Column
		var def sql.NullString
		if err := rows.Scan(&c.Name, &c.Type, &c.NotNull, &def, &c.PK); err != nil {
			return nil, fmt.Errorf("columns of %s: %w", table, err)
		}
		c.Default = def.String
		out = append(out, c)
	}
	return out, rows.Err()
}

// indexColumns matches the column list of a CREATE INDEX statement.
var indexColumns = regexp.MustCompile(`(?is)\bON\s+\S+\s*\((.*)\)\s*(WHERE\b.*)?$`)

func indexes(ctx context.Context, db *sql.DB, table string) ([]Index, error) {
	rows, err := db.QueryContext(ctx, `SELECT l.name, l."unique", l.origin, coalesce(s.sql, '')
		FROM pragma_index_list(?) AS l LEFT JOIN sqlite_schema AS s ON s.type = 'index' AND s.name = l.name
		ORDER BY l.name`, table)
	if err != nil {
		return nil, fmt.Errorf("indexes of %s: %w", table, err)
	}
	type row struct {
		ix          Index
		origin, sql string
	}
	var found []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.ix.Name, &r.ix.Unique, &r.origin, &r.sql); err != nil {
			rows.Close()
			return nil, fmt.Errorf("indexes of %s: %w", table, err)
		}
		found = append(found, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("indexes of %s: %w", table, err)
	}
	var out []Index
	for _, r := range found {
		if r.origin == "pk" {
			continue // shown as the PK marks of its columns
		}
		cols, err := strings1(ctx, db, `SELECT coalesce(name, '') FROM pragma_index_info(?) ORDER BY seqno`, r.ix.Name)
		if err != nil {
			return nil, fmt.Errorf("columns of index %s: %w", r.ix.Name, err)
		}
		if slices.Contains(cols, "") {
			// An expression index: SQLite names no column, so show the
			// expressions as written.
			if m := indexColumns.FindStringSubmatch(r.sql); m != nil {
				cols = []string{strings.Join(strings.Fields(m[1]), " ")}
			}
		}
		r.ix.Columns = cols
		out = append(out, r.ix)
	}
	return out, nil
}

func foreignKeys(ctx context.Context, db *sql.DB, table string) ([]ForeignKey, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, "table", "from", coalesce("to", ''), on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq`, table)
	if err != nil {
		return nil, fmt.Errorf("foreign keys of %s: %w", table, err)
	}
	defer rows.Close()
	var out []ForeignKey
	last := -1
	for rows.Next() {
		var id int
		var ref, from, to, onDelete string
		if err := rows.Scan(&id, &ref, &from, &to, &onDelete); err != nil {
			return nil, fmt.Errorf("foreign keys of %s: %w", table, err)
		}
		if id != last {
			out = append(out, ForeignKey{Table: ref, OnDelete: onDelete})
			last = id
		}
		fk := &out[len(out)-1]
		fk.From = append(fk.From, from)
		fk.To = append(fk.To, to)
	}
	return out, rows.Err()
}

// SchemaPUML renders tables as a PlantUML entity diagram: per table its
// columns (* marks NOT NULL, «PK» the primary key, «FK» a reference) and
// its indexes, and an arrow per foreign key.
func SchemaPUML(tables []Table, generatedBy string) []byte {
	var b bytes.Buffer
	b.WriteString("@startuml schema\n")
	fmt.Fprintf(&b, "' Generated by %s from a SQLite database migrated with the embedded migrations. Do not edit.\n", generatedBy)
	b.WriteString(`title authserve database schema (SQLite dialect)
hide circle
hide methods
hide empty members
skinparam shadowing false
skinparam defaultFontName sans-serif
skinparam class {
  BackgroundColor #FEFEFE
  BorderColor #555555
}
legend right
  ● (* in the source): NOT NULL
  «PK» primary key, «FK» foreign key
  below the line: indexes (UNIQUE when unique)
  PostgreSQL and MySQL/MariaDB have the same tables and
  columns with their own types, except: migration_lock is
  SQLite's (the others use advisory locks), and MySQL adds
  users.email_lower for its case-insensitive unique index.
endlegend

`)
	for _, t := range tables {
		fks := map[string]bool{}
		for _, fk := range t.ForeignKeys {
			for _, c := range fk.From {
				fks[c] = true
			}
		}
		fmt.Fprintf(&b, "entity %s {\n", t.Name)
		for _, c := range t.Columns {
			mark := " "
			if c.NotNull || c.PK > 0 {
				mark = "*"
			}
			var tags []string
			if c.PK > 0 {
				tags = append(tags, "«PK»")
			}
			if fks[c.Name] {
				tags = append(tags, "«FK»")
			}
			line := fmt.Sprintf("  %s %s : %s", mark, c.Name, c.Type)
			if len(tags) > 0 {
				line += " " + strings.Join(tags, " ")
			}
			if c.Default != "" {
				line += " = " + c.Default
			}
			b.WriteString(line + "\n")
		}
		if len(t.Indexes) > 0 {
			b.WriteString("  --\n")
			for _, ix := range t.Indexes {
				kind := "index"
				if ix.Unique {
					kind = "UNIQUE"
				}
				fmt.Fprintf(&b, "  %s %s (%s)\n", kind, ix.Name, strings.Join(ix.Columns, ", "))
			}
		}
		b.WriteString("}\n\n")
	}
	for _, t := range tables {
		for _, fk := range t.ForeignKeys {
			label := strings.Join(fk.From, ", ") + " → " + strings.Join(fk.To, ", ")
			if fk.OnDelete != "" && fk.OnDelete != "NO ACTION" {
				label += "\\nON DELETE " + fk.OnDelete
			}
			fmt.Fprintf(&b, "%s }o--|| %s : %s\n", t.Name, fk.Table, label)
		}
	}
	b.WriteString("@enduml\n")
	return b.Bytes()
}
