package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strconv"
	"strings"

	"modernc.org/sqlite"
)

// Kizuna writes one SQL text for both databases, with PostgreSQL's $N
// parameters. SQLite takes $N too, but as a named parameter: the parser
// looks each one up by name in a list of the statement's names, and binding
// looks each number up in the same list, both linearly. A statement of a
// thousand parameters (an IN list, a multi-row INSERT) cost a million
// steps to prepare and again to bind: at 100,000 accounts a fifth of a full
// recompute's CPU time went there. The SQLite connections Kizuna opens
// therefore rewrite each $N that comes in order (the next number after the
// largest so far) to an anonymous ?, which SQLite numbers the same way with
// no list at all, and any other $N (a repeat, say) to ?N, its numbered form.
// A query with parameters of another kind, or with no $ at all, is passed
// on as it is.

// sqliteDriver is the name the wrapped modernc.org/sqlite driver is
// registered under.
const sqliteDriver = "kizuna-sqlite"

func init() {
	sql.Register(sqliteDriver, paramDriver{&sqlite.Driver{}})
}

// sqliteParams returns query with its $N parameters as SQLite numbers them
// fastest (see above). Quoted strings, quoted identifiers and comments are
// left alone.
func sqliteParams(query string) string {
	if strings.IndexByte(query, '$') < 0 {
		return query
	}
	var b strings.Builder
	b.Grow(len(query))
	last := 0 // the largest parameter number so far, as SQLite counts
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"' || c == '`' || c == '[':
			end := c
			if c == '[' {
				end = ']'
			}
			j := strings.IndexByte(query[i+1:], end)
			if j < 0 {
				return query // unterminated: let SQLite report it on the text as written
			}
			// A doubled quote inside ends and restarts the literal: copying
			// both halves verbatim gives the same text.
			b.WriteString(query[i : i+j+2])
			i += j + 2
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i - 1
			}
			b.WriteString(query[i : i+j+1])
			i += j + 1
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				return query
			}
			b.WriteString(query[i : i+j+4])
			i += j + 4
		case c == '?' || c == ':' || c == '@' || c == '$' && !(i+1 < len(query) && query[i+1] >= '1' && query[i+1] <= '9'):
			if c == ':' && i+1 < len(query) && !isIdentStart(query[i+1]) {
				b.WriteByte(c) // not a parameter (SQLite has no other use, but be safe)
				i++
				continue
			}
			return query // parameters of another kind: numbering them is SQLite's business
		case c == '$':
			if i > 0 && isIdentChar(query[i-1]) {
				return query // $ inside an identifier
			}
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			if j < len(query) && isIdentChar(query[j]) {
				return query // $1abc is a name, not a number
			}
			n, err := strconv.Atoi(query[i+1 : j])
			if err != nil {
				return query
			}
			if n == last+1 {
				b.WriteByte('?')
			} else {
				b.WriteByte('?')
				b.WriteString(query[i+1 : j])
			}
			last = max(last, n)
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '$'
}

// paramDriver wraps modernc.org/sqlite's driver; its connections rewrite
// the parameters of every statement (sqliteParams).
type paramDriver struct{ d *sqlite.Driver }

func (d paramDriver) Open(name string) (driver.Conn, error) {
	c, err := d.d.Open(name)
	if err != nil {
		return nil, err
	}
	return &paramConn{c.(sqliteConn)}, nil
}

// sqliteConn is what database/sql uses of modernc.org/sqlite's connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// paramConn is a SQLite connection that rewrites parameters.
type paramConn struct{ c sqliteConn }

func (p *paramConn) Prepare(query string) (driver.Stmt, error) {
	return p.c.Prepare(sqliteParams(query))
}

func (p *paramConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return p.c.PrepareContext(ctx, sqliteParams(query))
}

func (p *paramConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return p.c.ExecContext(ctx, sqliteParams(query), args)
}

func (p *paramConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return p.c.QueryContext(ctx, sqliteParams(query), args)
}

func (p *paramConn) Close() error { return p.c.Close() }
func (p *paramConn) Begin() (driver.Tx, error) {
	return p.c.BeginTx(context.Background(), driver.TxOptions{})
}
func (p *paramConn) Ping(ctx context.Context) error         { return p.c.Ping(ctx) }
func (p *paramConn) ResetSession(ctx context.Context) error { return p.c.ResetSession(ctx) }
func (p *paramConn) IsValid() bool                          { return p.c.IsValid() }

func (p *paramConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return p.c.BeginTx(ctx, opts)
}
