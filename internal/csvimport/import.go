// Package csvimport imports the CSV files of CONTRACT.md: accounts, contacts,
// subscriptions, events, tickets, responses, orders, costs and feedback.
//
// A file is streamed into a temporary staging table (COPY on PostgreSQL)
// while each row is parsed; set-based checks over the staged rows then find
// what needs the whole file or the database (duplicate ids, unknown
// accounts, overlapping periods); finally the owning domain package merges
// the rows. Events, the kind that comes by the million, skip the staging
// table: each row is checked as it is read and written through a
// usage.Writer (events.go). All of it runs in one transaction, so an import
// is all-or-nothing and memory stays flat however long the file is.
package csvimport

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// ErrInvalid is returned when a file has bad rows and nothing was written
// (or, with SkipInvalid, when only the good rows were).
var ErrInvalid = errors.New("invalid rows")

// Options control an import.
type Options struct {
	// SkipInvalid writes the good rows and still reports the bad ones.
	SkipInvalid bool
	// CreateAccounts creates a bare account for every unknown account id
	// instead of reporting the row.
	CreateAccounts bool
	// Map renames source columns to the contract's names; an empty target drops the column.
	Map map[string]string
	// Progress, when set, is called now and then with the bytes read so far.
	Progress func(bytesRead int64)
	// MaxErrors is how many row errors Result keeps (default 1000); all are counted.
	MaxErrors int
	// CheckOnly runs every check and the merge, so the counts are what an
	// import would do, then rolls back: nothing is written.
	CheckOnly bool
	// RowsRead, when set, is called with the data rows read so far, as
	// often as Progress, for a page that shows the progress in rows.
	RowsRead func(rows int64)
	// BeforeCommit, when set, runs in the import's transaction just before
	// it commits, with the final counts: an audit entry written there
	// commits with the rows or not at all.
	BeforeCommit func(ctx context.Context, tx *sql.Tx, res *Result) error
}

// RowError is one problem with one row.
type RowError struct {
	File   string `json:"file"`
	Line   int64  `json:"line"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
}

// String formats the error as FILE:LINE: column: reason.
func (e RowError) String() string {
	if e.Column == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Column, e.Reason)
}

// Result says what an import did.
type Result struct {
	Kind            string     `json:"kind"`
	File            string     `json:"file"`
	Rows            int64      `json:"rows"`      // data rows read
	Inserted        int64      `json:"inserted"`  // new rows written
	Updated         int64      `json:"updated"`   // existing rows changed
	Unchanged       int64      `json:"unchanged"` // rows already stored as they are (or repeated events)
	Invalid         int64      `json:"invalid"`   // bad rows (reported, not written)
	CreatedAccounts int64      `json:"created_accounts,omitempty"`
	Errors          []RowError `json:"errors,omitempty"` // the first MaxErrors, in line order
	ErrorCount      int64      `json:"error_count"`      // all errors, also those not kept
	Committed       bool       `json:"committed"`
	CheckOnly       bool       `json:"check_only,omitempty"` // a check: the counts are what an import would do; nothing was written
	Seconds         float64    `json:"seconds"`
}

// Changed reports whether the import wrote anything (committed, not a
// check, some row new or updated), so the accounts are to be recomputed.
func (r *Result) Changed() bool {
	return r.Committed && !r.CheckOnly && r.Inserted+r.Updated+r.CreatedAccounts > 0
}

// Summary is a one-line account of the result.
func (r *Result) Summary() string {
	verb := "imported"
	if !r.Committed {
		verb = "rejected, nothing written:"
	}
	s := fmt.Sprintf("%s: %s %d rows (%d new, %d updated, %d unchanged", r.File, verb, r.Rows, r.Inserted, r.Updated, r.Unchanged)
	if r.CreatedAccounts > 0 {
		s += fmt.Sprintf(", %d accounts created", r.CreatedAccounts)
	}
	s += fmt.Sprintf(", %d invalid) in %.1fs", r.Invalid, r.Seconds)
	if !r.Committed {
		s = fmt.Sprintf("%s: rejected, nothing written: %d of %d rows invalid", r.File, r.Invalid, r.Rows)
	}
	if r.CheckOnly && r.ErrorCount == 0 {
		s = fmt.Sprintf("%s: checked %d rows, all valid (%d would be new, %d updated, %d unchanged); nothing written",
			r.File, r.Rows, r.Inserted, r.Updated, r.Unchanged)
	}
	return s
}

// KnownKind reports whether name is an importable kind.
func KnownKind(name string) bool { _, ok := kinds[name]; return ok }

type importer struct {
	db     *store.DB
	k      *kind
	opts   Options
	res    *Result
	badSet map[int64]bool // lines with errors; bounded by the number of bad rows
}

func (im *importer) addError(line int64, column, reason string) {
	im.res.ErrorCount++
	if !im.badSet[line] {
		im.badSet[line] = true
		im.res.Invalid++
	}
	if len(im.res.Errors) < im.opts.MaxErrors {
		im.res.Errors = append(im.res.Errors, RowError{File: im.res.File, Line: line, Column: column, Reason: reason})
	}
}

// Import reads one CSV file of the given kind from r and writes it to db.
// file names the source in error messages. When rows are bad it returns the
// Result together with ErrInvalid; other errors are failures of the reader
// or the database.
func Import(ctx context.Context, db *store.DB, kindName, file string, r io.Reader, opts Options) (*Result, error) {
	k, ok := kinds[kindName]
	if !ok {
		return nil, fmt.Errorf("import: unknown kind %q (one of %s)", kindName, strings.Join(Kinds, ", "))
	}
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 1000
	}
	start := time.Now()
	im := &importer{db: db, k: k, opts: opts, res: &Result{Kind: kindName, File: file, CheckOnly: opts.CheckOnly}, badSet: map[int64]bool{}}
	if file == "-" || file == "" {
		im.res.File = "stdin"
	}
	err := im.run(ctx, r)
	im.res.Seconds = time.Since(start).Seconds()
	sort.SliceStable(im.res.Errors, func(i, j int) bool { return im.res.Errors[i].Line < im.res.Errors[j].Line })
	if err != nil {
		return im.res, err
	}
	if im.res.ErrorCount > 0 {
		return im.res, ErrInvalid
	}
	return im.res, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (im *importer) run(ctx context.Context, src io.Reader) error {
	k := im.k
	counter := &countingReader{r: src}
	br := bufio.NewReaderSize(counter, 256<<10)
	// A UTF-8 byte order mark, as Excel writes, is not part of the first column's name.
	if b, err := br.Peek(3); err == nil && string(b) == "\xEF\xBB\xBF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		im.addError(1, "", "empty file: a header row is required")
		return nil
	}
	if err != nil {
		im.addError(1, "", "cannot read the header: "+csvReason(err))
		return nil
	}
	idx, custom := im.header(header)
	if im.res.ErrorCount > 0 {
		return nil
	}
	reporting, err := billing.ReportingCurrency(ctx, im.db)
	if err != nil {
		return err
	}

	conn, err := im.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("import %s: %w", k.name, err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("import %s: %w", k.name, err)
	}
	defer tx.Rollback()

	if k.direct {
		return im.runEvents(ctx, conn, tx, cr, len(header), idx, counter)
	}

	stage, attrStage := "stage_"+k.name, "stage_attributes"
	if err := im.db.CreateTempTable(ctx, tx, stage, "line BIGINT NOT NULL, "+k.stage); err != nil {
		return err
	}
	loader := im.db.NewBulkLoader(conn, tx, stage, append([]string{"line"}, k.stageColumns...))
	var attrLoader *store.BulkLoader
	types := map[string]account.AttrType{}
	if k.custom != "" {
		if err := im.db.CreateTempTable(ctx, tx, attrStage, "line BIGINT NOT NULL, "+account.StageAttributes); err != nil {
			return err
		}
		attrLoader = im.db.NewBulkLoader(conn, tx, attrStage, []string{"line", "id", "name", "value"})
	}

	rw := &row{idx: idx, reporting: reporting}
	vals := make([]any, 0, len(k.stageColumns)+1)
	err = im.each(ctx, cr, len(header), counter, func(line int64, rec []string) error {
		rw.rec, rw.errs = rec, rw.errs[:0]
		parsed := k.parse(rw)
		if len(rw.errs) > 0 {
			for _, fe := range rw.errs {
				im.addError(line, fe.column, fe.reason)
			}
			return nil
		}
		vals = append(vals[:0], line)
		vals = append(vals, parsed...)
		if err := loader.Add(ctx, vals...); err != nil {
			return err
		}
		for _, c := range custom {
			v := strings.TrimSpace(rec[c.index])
			types[c.name] = account.Widen(types[c.name], account.InferType(v))
			if err := attrLoader.Add(ctx, line, rw.str(k.idColumn), c.name, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := loader.Close(ctx); err != nil {
		return err
	}
	if attrLoader != nil {
		if err := attrLoader.Close(ctx); err != nil {
			return err
		}
	}

	now := store.Now()
	if err := im.checks(ctx, tx, stage, now); err != nil {
		return err
	}
	if im.res.ErrorCount > 0 && !im.opts.SkipInvalid {
		return nil // the deferred rollback writes nothing
	}
	if im.res.ErrorCount > 0 {
		if err := im.dropBad(ctx, tx, stage, attrStage); err != nil {
			return err
		}
	}
	if err := im.keepAbsent(ctx, tx, stage, idx); err != nil {
		return err
	}
	if err := im.merge(ctx, tx, stage, now); err != nil {
		return err
	}
	if k.custom != "" {
		if err := account.MergeAttributes(ctx, tx, k.custom, attrStage); err != nil {
			return err
		}
		if err := account.DefineAttributes(ctx, tx, k.custom, types); err != nil {
			return err
		}
		im.db.DropTempTable(ctx, tx, attrStage)
	}
	im.db.DropTempTable(ctx, tx, stage)
	if im.opts.CheckOnly {
		return nil // the deferred rollback writes nothing
	}
	if err := im.beforeCommit(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("import %s: commit: %w", k.name, err)
	}
	im.res.Committed = true
	return nil
}

// each reads the data rows after the header, reports the malformed ones
// (bad quoting, wrong field count) and calls fn with every other record.
func (im *importer) each(ctx context.Context, cr *csv.Reader, fields int, counter *countingReader, fn func(line int64, rec []string) error) error {
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				im.res.Rows++
				im.addError(int64(pe.StartLine), "", csvReason(err))
				continue
			}
			return fmt.Errorf("import %s: read %s: %w", im.k.name, im.res.File, err)
		}
		line, _ := cr.FieldPos(0)
		im.res.Rows++
		if im.res.Rows%65536 == 0 {
			im.progress(counter)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if len(rec) != fields {
			if len(rec) == 1 && rec[0] == "" {
				im.res.Rows-- // a blank line
				continue
			}
			im.addError(int64(line), "", fmt.Sprintf("has %d fields, the header has %d", len(rec), fields))
			continue
		}
		if err := fn(int64(line), rec); err != nil {
			return err
		}
	}
	im.progress(counter)
	return nil
}

func (im *importer) beforeCommit(ctx context.Context, tx *sql.Tx) error {
	if im.opts.BeforeCommit == nil {
		return nil
	}
	if err := im.opts.BeforeCommit(ctx, tx, im.res); err != nil {
		return fmt.Errorf("import %s: %w", im.k.name, err)
	}
	return nil
}

func (im *importer) progress(counter *countingReader) {
	if im.opts.Progress != nil {
		im.opts.Progress(counter.n)
	}
	if im.opts.RowsRead != nil {
		im.opts.RowsRead(im.res.Rows)
	}
}

type customColumn struct {
	name  string
	index int
}

// header maps column names to indexes after --map, and finds the custom
// attribute columns; problems are reported against line 1.
func (im *importer) header(header []string) (map[string]int, []customColumn) {
	k := im.k
	known := map[string]bool{}
	for _, c := range k.columns {
		known[c.name] = true
	}
	idx := map[string]int{}
	var custom []customColumn
	for i, h := range header {
		name := strings.TrimSpace(h)
		if to, ok := im.opts.Map[name]; ok {
			if to == "" {
				continue // dropped with --map name=
			}
			name = to
		}
		if name == "" {
			im.addError(1, fmt.Sprintf("column %d", i+1), "empty column name in the header")
			continue
		}
		if _, dup := idx[name]; dup {
			im.addError(1, name, "column appears twice in the header")
			continue
		}
		idx[name] = i
		if !known[name] {
			if k.custom == "" {
				im.addError(1, name, fmt.Sprintf("unknown column for %s (known: %s; rename it with --map %s=NAME or drop it with --map %s=)",
					k.name, columnList(k.columns), name, name))
				continue
			}
			custom = append(custom, customColumn{name, i})
		}
	}
	for _, c := range k.columns {
		if _, ok := idx[c.name]; c.required && !ok {
			im.addError(1, c.name, "required column is missing from the header")
		}
	}
	return idx, custom
}

func columnList(cs []column) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("malformed CSV at column %d: %v", pe.Column, pe.Err)
	}
	return err.Error()
}

// checks runs the set-based validations over the staged rows.
func (im *importer) checks(ctx context.Context, tx *sql.Tx, stage string, now int64) error {
	k := im.k
	var all []check
	if len(k.key) > 0 {
		keys := strings.Join(k.key, ", ")
		label := k.columns[0].name
		all = append(all, check{
			column: label,
			sql: func(stage string) string {
				return `SELECT line, first, id FROM (SELECT line, ` + k.key[0] + ` AS id,
					MIN(line) OVER (PARTITION BY ` + keys + `) AS first FROM ` + stage + `) d WHERE line <> first`
			},
			reason: func(v []string) string {
				if len(k.key) > 1 {
					names := strings.ReplaceAll(strings.Join(k.key, " and "), "start_at", "start_date")
					return fmt.Sprintf("duplicate of line %s (same %s)", v[0], names)
				}
				return fmt.Sprintf("duplicate %s %q (first at line %s)", label, v[1], v[0])
			},
		})
	}
	if k.accountColumn != "" {
		if im.opts.CreateAccounts {
			n, err := account.CreateMissing(ctx, tx, stage, k.accountColumn, now)
			if err != nil {
				return err
			}
			im.res.CreatedAccounts = n
		} else {
			all = append(all, check{
				column: k.accountColumn,
				sql:    func(stage string) string { return account.MissingSQL(stage, k.accountColumn) },
				reason: func(v []string) string {
					return fmt.Sprintf("unknown account %q (import accounts first, or use --create-accounts)", v[0])
				},
			})
		}
	}
	all = append(all, k.checks...)
	for _, c := range all {
		rows, err := tx.QueryContext(ctx, c.sql(stage))
		if err != nil {
			return fmt.Errorf("import %s: check %s: %w", k.name, c.column, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			var line int64
			vals := make([]sql.NullString, len(cols)-1)
			dest := []any{&line}
			for i := range vals {
				dest = append(dest, &vals[i])
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return fmt.Errorf("import %s: check %s: %w", k.name, c.column, err)
			}
			strs := make([]string, len(vals))
			for i, v := range vals {
				strs[i] = v.String
			}
			im.addError(line, c.column, c.reason(strs))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("import %s: check %s: %w", k.name, c.column, err)
		}
	}
	return nil
}

// dropBad removes the rows the checks found bad from the staging tables
// (--skip-invalid); rows that failed to parse were never staged.
func (im *importer) dropBad(ctx context.Context, tx *sql.Tx, stage, attrStage string) error {
	lines := make([]int64, 0, len(im.badSet))
	for l := range im.badSet {
		lines = append(lines, l)
	}
	for start := 0; start < len(lines); start += 500 {
		chunk := lines[start:min(start+500, len(lines))]
		ph := make([]string, len(chunk))
		args := make([]any, len(chunk))
		for i, l := range chunk {
			ph[i] = fmt.Sprintf("$%d", i+1)
			args[i] = l
		}
		in := " WHERE line IN (" + strings.Join(ph, ",") + ")"
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+stage+in, args...); err != nil {
			return fmt.Errorf("import %s: drop invalid rows: %w", im.k.name, err)
		}
		if im.k.custom != "" {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+attrStage+in, args...); err != nil {
				return fmt.Errorf("import %s: drop invalid rows: %w", im.k.name, err)
			}
		}
	}
	return nil
}

// keepAbsent copies the stored values of optional columns the file lacks
// into the staged rows that update a stored row.
func (im *importer) keepAbsent(ctx context.Context, tx *sql.Tx, stage string, idx map[string]int) error {
	k := im.k
	var on []string
	for _, c := range k.key {
		on = append(on, "t."+c+" = "+stage+"."+c)
	}
	match := " FROM " + k.target + " t WHERE " + strings.Join(on, " AND ")
	var sets []string
	for csvName, col := range k.keep {
		if _, present := idx[csvName]; !present {
			sets = append(sets, col+" = (SELECT t."+col+match+")")
		}
	}
	if len(sets) == 0 {
		return nil
	}
	sort.Strings(sets)
	_, err := tx.ExecContext(ctx, "UPDATE "+stage+" SET "+strings.Join(sets, ", ")+" WHERE EXISTS (SELECT 1"+match+")")
	if err != nil {
		return fmt.Errorf("import %s: keep columns the file lacks: %w", k.name, err)
	}
	return nil
}

// merge counts what is new, then lets the domain package write the rows.
func (im *importer) merge(ctx context.Context, tx *sql.Tx, stage string, now int64) error {
	k := im.k
	var staged, existing int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+stage).Scan(&staged); err != nil {
		return fmt.Errorf("import %s: %w", k.name, err)
	}
	var on []string
	for _, c := range k.key {
		on = append(on, "t."+c+" = s."+c)
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+stage+` s WHERE EXISTS (SELECT 1 FROM `+k.target+` t WHERE `+
		strings.Join(on, " AND ")+`)`).Scan(&existing); err != nil {
		return fmt.Errorf("import %s: %w", k.name, err)
	}
	affected, err := k.merge(ctx, tx, stage, now)
	if err != nil {
		return fmt.Errorf("import %s: %w", k.name, err)
	}
	im.res.Inserted = staged - existing
	im.res.Updated = affected - im.res.Inserted
	im.res.Unchanged = staged - affected
	return nil
}

func timeUTC(ts int64) time.Time { return time.Unix(ts, 0).UTC() }
